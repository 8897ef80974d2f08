#include "core/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef BILEVEL_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include "core/error.h"

namespace bilevel::core {
namespace {

const std::string* find(const std::map<std::string, std::string>& environment, const char* name) {
  const auto it = environment.find(name);
  return it == environment.end() || it->second.empty() ? nullptr : &it->second;
}

int integerVariable(const std::map<std::string, std::string>& environment, const char* name, int fallback, int min, int max) {
  const std::string* text = find(environment, name);
  if (text == nullptr) return fallback;
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size() || value < min || value > max) {
    throw Error("INVALID_ARGUMENT", std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                        "]; got '" + *text + "'");
  }
  return value;
}

std::string rankName(int rank, int worldSize) {
  return "rank " + std::to_string(rank) + " of " + std::to_string(worldSize);
}

c10::intrusive_ptr<CollectiveBackend> glooGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int worldSize,
                                                 std::chrono::milliseconds timeout) {
#ifdef BILEVEL_HAVE_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // Loopback for a group on one machine; otherwise the address this host's name resolves to.
  options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 1;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, worldSize, options);
#else
  (void)store, (void)rank, (void)worldSize, (void)timeout;
  throw Error("DISTRIBUTED", "this build of bilevel has no Gloo, so it cannot run several processes: install Gloo's headers "
                             "(Debian: libgloo-dev, which scripts/install-libtorch.sh installs) and rebuild (npm rebuild bilevel --build-from-source)");
#endif
}

}  // namespace

ProcessGroupSettings processGroupSettings(const std::map<std::string, std::string>& environment) {
  ProcessGroupSettings settings;
  settings.worldSize = integerVariable(environment, "WORLD_SIZE", 1, 1, 1 << 16);
  settings.rank = integerVariable(environment, "RANK", 0, 0, settings.worldSize - 1);
  if (const std::string* address = find(environment, "MASTER_ADDR")) settings.masterAddress = *address;
  settings.masterPort = integerVariable(environment, "MASTER_PORT", settings.masterPort, 1, 65535);
  if (const std::string* agent = find(environment, "TORCHELASTIC_USE_AGENT_STORE")) settings.agentStore = *agent == "True" || *agent == "true" || *agent == "1";
  settings.restartCount = integerVariable(environment, "TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
  const auto defaultSeconds = std::chrono::duration_cast<std::chrono::seconds>(settings.timeout).count();
  settings.timeout = std::chrono::seconds(integerVariable(environment, "BILEVEL_DISTRIBUTED_TIMEOUT", static_cast<int>(defaultSeconds), 1, 7 * 24 * 3600));
  if (settings.worldSize > 1 && (find(environment, "RANK") == nullptr || find(environment, "MASTER_PORT") == nullptr)) {
    throw Error("INVALID_ARGUMENT", "WORLD_SIZE=" + std::to_string(settings.worldSize) + " needs RANK and MASTER_PORT too (torchrun sets all of them)");
  }
  return settings;
}

ProcessGroup::ProcessGroup(const ProcessGroupSettings& settings) : rank_(settings.rank), worldSize_(settings.worldSize) {
  if (worldSize_ == 1) {  // alone: no rendezvous, no port
    group_ = glooGroup(c10::make_intrusive<c10d::HashStore>(), 0, 1, settings.timeout);
    return;
  }
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(settings.masterPort);
  options.isServer = settings.rank == 0 && !settings.agentStore;
  options.numWorkers = settings.agentStore ? c10::nullopt : c10::optional<std::size_t>(settings.worldSize);
  options.waitWorkers = !settings.agentStore;
  options.timeout = settings.timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(settings.masterAddress, options);
  } catch (const std::exception& e) {
    throw Error("DISTRIBUTED", rankName(rank_, worldSize_) + ": the rendezvous at " + settings.masterAddress + ":" +
                                   std::to_string(settings.masterPort) + " failed (is every rank started, the address reachable, the port free?): " + e.what());
  }
  // Keys of this attempt only, as torchrun's workers keep them (a restarted group starts afresh).
  store = c10::make_intrusive<c10d::PrefixStore>("bilevel/attempt_" + std::to_string(settings.restartCount), store);
  group_ = glooGroup(store, rank_, worldSize_, settings.timeout);
}

ProcessGroup::ProcessGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int worldSize, std::chrono::milliseconds timeout)
    : rank_(rank), worldSize_(worldSize), group_(glooGroup(store, rank, worldSize, timeout)) {}

ProcessGroup::~ProcessGroup() = default;

template <typename Operation>
void ProcessGroup::collective(const char* what, Operation operation) const {
  const auto started = std::chrono::steady_clock::now();
  try {
    operation()->wait();
    collectives_ += 1;
    nanoseconds_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
  } catch (const std::exception& e) {
    throw Error("DISTRIBUTED", rankName(rank_, worldSize_) + ": " + what + " failed; another rank has probably stopped or died (" +
                                   std::string(e.what()).substr(0, 300) + ")");
  }
}

// The tensors as one flat buffer per dtype and device, and back: Gloo's lists mean one tensor per
// device, all of one shape, so a list of variables goes as few tensors (and few collectives).
void ProcessGroup::flatCollective(const char* what, TensorList& tensors, bool sum) const {
  std::vector<bool> done(tensors.size(), false);
  for (size_t first = 0; first < tensors.size(); ++first) {
    if (done[first]) continue;
    std::vector<size_t> members;
    for (size_t i = first; i < tensors.size(); ++i) {
      if (!done[i] && tensors[i].scalar_type() == tensors[first].scalar_type() && tensors[i].device() == tensors[first].device()) {
        members.push_back(i);
        done[i] = true;
      }
    }
    TensorList flat;
    for (size_t i : members) flat.push_back(tensors[i].reshape({-1}));
    TensorList buffer{torch::cat(flat)};
    if (sum) {
      collective(what, [&] { return group_->allreduce(buffer); });
    } else {
      collective(what, [&] { return group_->broadcast(buffer); });
    }
    int64_t at = 0;
    for (size_t i : members) {
      const int64_t n = tensors[i].numel();
      tensors[i] = buffer[0].narrow(0, at, n).view(tensors[i].sizes()).clone();  // apart: one version counter each
      at += n;
    }
  }
}

void ProcessGroup::sum(TensorList& tensors) const { flatCollective("a sum over the ranks", tensors, true); }

void ProcessGroup::broadcast(TensorList& tensors) const { flatCollective("a broadcast from rank 0", tensors, false); }

bool ProcessGroup::any(bool flag) const {
  TensorList count{torch::full({1}, flag ? 1 : 0, torch::kInt32)};
  collective("an agreement of the ranks", [&] { return group_->allreduce(count); });
  return count[0].item<int32_t>() > 0;
}

ProcessGroup::Communication ProcessGroup::communication() const {
  return {collectives_.load(), static_cast<double>(nanoseconds_.load()) / 1e6};
}

void ProcessGroup::barrier() const {
  collective("a barrier", [&] { return group_->barrier(); });
}

}  // namespace bilevel::core
