#include "binding/compute_thread.h"

#include <ATen/Parallel.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#ifdef __linux__
#include <pthread.h>
#endif

namespace bilevel::binding {
namespace {

class ComputeThread {
 public:
  // Never destroyed, its thread never joined: work may be asked for while the process exits.
  static ComputeThread& instance() {
    static ComputeThread* thread = new ComputeThread();
    return *thread;
  }

  void run(const std::function<void()>& work) {
    if (std::this_thread::get_id() == id_) return work();
    std::packaged_task<void()> job(work);
    std::future<void> done = job.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(&job);
    }
    wake_.notify_one();
    done.get();
  }

 private:
  ComputeThread() {
    std::thread thread([this] { serve(); });
    id_ = thread.get_id();
    thread.detach();
  }

  void serve() {
#ifdef __linux__
    // Named for top -H and the tests; the OpenMP threads it starts inherit the name.
    pthread_setname_np(pthread_self(), "bilevel-compute");
#endif
    for (;;) {
      std::packaged_task<void()>* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !jobs_.empty(); });
        job = jobs_.front();
        jobs_.pop_front();
      }
      at::init_num_threads();  // the thread count last set with setNumThreads, on any thread
      (*job)();  // stores what the work threw in the caller's future
    }
  }

  std::thread::id id_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>*> jobs_;
};

}  // namespace

void onComputeThread(const std::function<void()>& work) { ComputeThread::instance().run(work); }

}  // namespace bilevel::binding
