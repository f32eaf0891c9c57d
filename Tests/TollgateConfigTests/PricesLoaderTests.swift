// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig

@Suite struct PricesLoaderTests {
    @Test func targetsInOrder() throws {
        let result = PricesLoader.load(yaml: """
            targets:
              - name: runpod-l4
                billing: per_second
                price: { per_second: 0.00019, round_up: 1s }
                notes: "flex"
              - name: box
                billing: always_on
                price: { per_hour: 0.05 }
                max_concurrency: 4
            """, file: "p.yaml", environment: [:])
        #expect(result.diagnostics.isEmpty)
        #expect(try #require(result.targets) == [
            PriceTarget(name: "runpod-l4", pricing: Pricing(billing: .perSecond, microDollars: 190, roundUp: .seconds(1)),
                        notes: "flex", line: 2),
            PriceTarget(name: "box", pricing: Pricing(billing: .alwaysOn, microDollars: 50_000), maxConcurrency: 4, line: 6),
        ])
    }

    @Test func errorsAtTheirLines() {
        let result = PricesLoader.load(yaml: """
            targets:
              - name: a
                billing: per_second
                price: { per_hour: 1 }
              - name: a
                billing: always_on
                price: { per_hour: 1 }
              - name: c
              - nmae: d
                billing: per_request
                price: { per_request: 0.01 }
            extra: 1
            """, file: "p.yaml", environment: [:])
        #expect(result.targets == nil)
        #expect(result.diagnostics.map(\.description) == [
            "p.yaml:3: targets[0].billing: per_second billing needs a per_second price, but price has per_hour",
            "p.yaml:5: targets[1].name: target 'a' is listed twice (first at line 2)",
            "p.yaml:8: targets[2]: a target needs billing and price",
            "p.yaml:9: targets[3]: unknown key 'nmae' (did you mean 'name'?)",
            "p.yaml:9: targets[3]: missing required key 'name'",
            "p.yaml:12: unknown key 'extra'",
        ])
    }

    @Test func missingFile() {
        let result = PricesLoader.load(path: "/nonexistent/prices.yaml", environment: [:])
        #expect(result.diagnostics.map(\.description) == ["/nonexistent/prices.yaml: cannot read file: No such file or directory"])
    }
}
