import NIOCore

/// Runs a task's jobs on a client's I/O thread (`ZooKeeperClient.ioExecutor`). A task that
/// prefers it submits on that thread and is resumed there by the answer: a sequential call
/// costs no thread hop. Jobs enqueued from the I/O thread itself wake nothing.
final class IOThreadExecutor: TaskExecutor {
    private let eventLoop: EventLoop

    init(_ eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
