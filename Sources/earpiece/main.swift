import Glibc

// The entry point only hands over to nonisolated code: closures written here would be inferred
// @MainActor, and the event loops would call them from their own threads (FACTS.md).
let status = await Earpiece.main(arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
