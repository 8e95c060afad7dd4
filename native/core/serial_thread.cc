#include "core/serial_thread.h"

#include <future>
#include <utility>

namespace imlm {

SerialThread::SerialThread() : queue_(std::make_shared<Queue>()), thread_([queue = queue_] { loop(queue); }) {}

SerialThread::~SerialThread() {
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->stopping = true;
  }
  queue_->wake.notify_one();
  if (std::this_thread::get_id() == thread_.get_id()) {
    thread_.detach();  // destroyed from one of its own jobs: the loop ends after that job
  } else {
    thread_.join();
  }
}

void SerialThread::call(const std::function<void()>& job) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    job();
    return;
  }
  std::packaged_task<void()> task(job);
  std::future<void> done = task.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->jobs.emplace_back([&task] { task(); });
  }
  queue_->wake.notify_one();
  done.get();  // rethrows the job's exception on the caller's thread
}

void SerialThread::loop(const std::shared_ptr<Queue>& queue) {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(queue->mutex);
      queue->wake.wait(lock, [&] { return queue->stopping || !queue->jobs.empty(); });
      if (queue->jobs.empty()) return;  // stopping, and nothing left to run
      job = std::move(queue->jobs.front());
      queue->jobs.pop_front();
    }
    job();  // a packaged_task: it keeps any exception for the caller and never throws here
  }
}

}  // namespace imlm
