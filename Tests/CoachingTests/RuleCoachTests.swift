import Foundation
import Testing
@testable import Coaching

@Test func dumpExamples() throws {
    for name in ExampleSessionCoachTests.exampleNames {
        let result = try SessionReplay(example: ExampleSessionCoachTests.load(name), coach: RuleCoach()).run()
        print("=== \(name)")
        for line in result.log { print(line) }
        for tip in result.tips { print("  \(tip.id) \(tip.draft.kind.rawValue) conf=\(tip.draft.confidence) | \(tip.draft.headline) | \(tip.draft.suggestion)"); for o in tip.draft.options { print("     - \(o.label): \(o.script)") } }
    }
}
