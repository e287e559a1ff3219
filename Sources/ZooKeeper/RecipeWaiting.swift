import ZooKeeperSession

/// How the Swift recipes wait for their machines: bounded by a timeout and by the task's
/// cancellation, either of which gives the machine's work up.
extension ZooKeeperClient {
    /// Waits for a recipe's outcome; after `timeout`, or when the task is cancelled, `giveUp`
    /// runs (the machine abandons its work) and operationTimeout or CancellationError is thrown.
    func awaitRecipe(_ outcome: OneShot<Result<Void, ZooKeeperError>>, timeout: Duration?, path: String,
                     giveUp: @escaping @Sendable () -> Void) async throws {
        let result = await awaitOutcome(outcome, timeout: timeout, waitingFor: "done") { reason in
            if outcome.fulfil(.failure(ZooKeeperError(.operationTimeout, path: path, message: reason))) { giveUp() }
        }
        try Task.checkCancellation()
        try result.get()
    }

    /// Waits for `outcome`. After `timeout` ("not <waitingFor> within ..."), or when the task
    /// is cancelled ("cancelled"), `giveUp` hears why: it decides whether the wait ends there
    /// (by fulfilling `outcome` itself, so that an answer arriving at that moment is not lost
    /// between the two) and tells the machine to abandon its work.
    func awaitOutcome<T: Sendable>(_ outcome: OneShot<T>, timeout: Duration?, waitingFor: String,
                                   giveUp: @escaping @Sendable (_ reason: String) -> Void) async -> T {
        let timer = timeout.map { timeout in
            driver.eventLoop.scheduleTask(in: .milliseconds(timeout.milliseconds)) { giveUp("not \(waitingFor) within \(timeout)") }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await outcome.value
        } onCancel: {
            giveUp("cancelled")
        }
    }
}
