#include "binding/instance_data.h"

namespace bilevel::binding {

void createInstanceData(Napi::Env env) { env.SetInstanceData(new InstanceData()); }  // deleted with env

InstanceData& instanceData(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

}  // namespace bilevel::binding
