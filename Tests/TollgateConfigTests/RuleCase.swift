// SPDX-License-Identifier: Apache-2.0
// One row of a validation table: a YAML document and exactly the errors it must produce,
// written as `t.yaml:{E1}: message` with `{E1}` standing for the line marked `# E1`.
import Testing
import TollgateConfig

struct RuleCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let errors: [String]
    var environment: [String: String] = [:]

    var testDescription: String { name }

    init(_ name: String, _ yaml: String, _ errors: [String], environment: [String: String] = [:]) {
        self.name = name
        self.yaml = yaml
        self.errors = errors
        self.environment = environment
    }

    /// Loads the YAML and checks that the errors are exactly the expected ones, in order,
    /// and that no config is returned.
    func verify(sourceLocation: SourceLocation = #_sourceLocation) {
        let result = TestSupport.load(yaml, environment: environment)
        let expected = errors.map { TestSupport.resolve($0, in: yaml) }
        #expect(TestSupport.errors(result) == expected, "\(name)", sourceLocation: sourceLocation)
        #expect(result.config == nil, "\(name): a config with errors must not be returned", sourceLocation: sourceLocation)
        #expect(!expected.contains { $0.contains("{E") }, "\(name): unresolved marker", sourceLocation: sourceLocation)
    }
}
