import Glibc

// Hands over to nonisolated code at once (see FACTS.md on closures in main.swift).
exit(await ConformanceServer.main(arguments: Array(CommandLine.arguments.dropFirst())))
