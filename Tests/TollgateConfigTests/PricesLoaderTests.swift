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
                cold_start: 20s
                source: https://docs.runpod.io/serverless/pricing
                as_of: 2026-08-20
                notes: "flex"
              - name: space
                billing: always_on
                price: { per_hour: 1.00 }
                max_concurrency: 4
                sleep_after: 15m
                cold_start: 60s
                source: http://huggingface.co/docs/hub/spaces-gpus?x=1
                as_of: 2024-02-29
            """, file: "p.yaml", environment: [:])
        #expect(result.diagnostics.isEmpty)
        let flex = PriceTarget(name: "runpod-l4",
                               pricing: Pricing(billing: .perSecond, microDollars: 190, roundUp: Duration.seconds(1)),
                               coldStart: Duration.seconds(20), source: "https://docs.runpod.io/serverless/pricing",
                               asOf: "2026-08-20", notes: "flex", line: 2)
        let space = PriceTarget(name: "space", pricing: Pricing(billing: .alwaysOn, microDollars: 1_000_000),
                                maxConcurrency: 4, sleepAfter: Duration.seconds(900), coldStart: Duration.seconds(60),
                                source: "http://huggingface.co/docs/hub/spaces-gpus?x=1", asOf: "2024-02-29", line: 9)
        let targets: [PriceTarget] = try #require(result.targets)
        #expect(targets == [flex, space])
    }

    @Test func errorsAtTheirLines() {
        let result = PricesLoader.load(yaml: """
            targets:
              - { name: a, source: "https://x.example", as_of: 2026-08-20,
                billing: per_second,
                price: { per_hour: 1 } }
              - name: a
                billing: always_on
                price: { per_hour: 1 }
              - { name: c, source: "https://x.example", as_of: 2026-08-20 }
              - { nmae: d, source: "https://x.example", as_of: 2026-08-20,
                billing: per_request,
                price: { per_request: 0.01 } }
            extra: 1
            """, file: "p.yaml", environment: [:])
        #expect(result.targets == nil)
        let expected: [String] = [
            "p.yaml:3: targets[0].billing: per_second billing needs a per_second price, but price has per_hour",
            "p.yaml:5: targets[1].name: target 'a' is listed twice (first at line 2)",
            "p.yaml:8: targets[2]: a target needs billing and price",
            "p.yaml:9: targets[3]: unknown key 'nmae' (did you mean 'name'?)",
            "p.yaml:9: targets[3]: missing required key 'name'",
            "p.yaml:12: unknown key 'extra'",
        ]
        #expect(result.diagnostics.map(\.description) == expected)
    }

    /// SPEC §1: a target without source or as_of is an error at its line, as are a source that
    /// is not a URL, a day that does not exist, and sleep/cold-start keys where they mean nothing.
    @Test func provenanceAndSleepErrors() {
        let result = PricesLoader.load(yaml: """
            targets:
              - name: a
                billing: per_second
                price: { per_second: 0.0001 }
              - name: b
                billing: per_second
                price: { per_second: 0.0001 }
                source: the HF pricing page
                as_of: 2026-02-30
              - name: c
                billing: per_second
                price: { per_second: 0.0001 }
                sleep_after: 5m
                source: https://x.example/p
                as_of: 26-08-20
              - name: d
                billing: per_request
                price: { per_request: 0.01 }
                cold_start: 10s
                source: https://
                as_of: 2026-08-20
              - name: e
                billing: always_on
                price: { per_hour: 1 }
                cold_start: 10s
                sleep_after: 0
                source: https://x.example
                as_of: 2026-8-20
            """, file: "p.yaml", environment: [:])
        #expect(result.targets == nil)
        let expected: [String] = [
            "p.yaml:2: targets[0]: missing required key 'source' (the URL the price was read from)",
            "p.yaml:2: targets[0]: missing required key 'as_of' (the day the price was read, YYYY-MM-DD)",
            "p.yaml:8: targets[1].source: expected the http(s) URL of the page the price was read from, got 'the HF pricing page'",
            "p.yaml:9: targets[1].as_of: expected a date YYYY-MM-DD (the day the price was read), got '2026-02-30'",
            "p.yaml:13: targets[2].sleep_after: sleep_after applies only to always_on targets (billing stops when idle)",
            "p.yaml:15: targets[2].as_of: expected a date YYYY-MM-DD (the day the price was read), got '26-08-20'",
            "p.yaml:19: targets[3].cold_start: cold_start applies only to per_second and always_on targets",
            "p.yaml:20: targets[3].source: expected the http(s) URL of the page the price was read from, got 'https://'",
            "p.yaml:26: targets[4].sleep_after: must be more than 0",
            "p.yaml:28: targets[4].as_of: expected a date YYYY-MM-DD (the day the price was read), got '2026-8-20'",
        ]
        #expect(result.diagnostics.map(\.description) == expected)
    }

    /// cold_start on an always_on target without sleep_after: an instance that never sleeps
    /// never wakes, so the key is a mistake rather than a zero.
    @Test func coldStartNeedsSleepOnAlwaysOn() {
        let result = PricesLoader.load(yaml: """
            targets:
              - name: e
                billing: always_on
                price: { per_hour: 1 }
                cold_start: 10s
                source: https://x.example
                as_of: 2026-08-20
            """, file: "p.yaml", environment: [:])
        let expected: [String] = [
            "p.yaml:5: targets[0].cold_start: cold_start on an always_on target needs sleep_after (an instance that never sleeps never wakes)",
        ]
        #expect(result.diagnostics.map(\.description) == expected)
    }

    @Test func missingFile() {
        let result = PricesLoader.load(path: "/nonexistent/prices.yaml", environment: [:])
        #expect(result.diagnostics.map(\.description) == ["/nonexistent/prices.yaml: cannot read file: No such file or directory"])
    }
}
