// SPDX-License-Identifier: Apache-2.0
// Every YAML under Config/ except prices.yaml is a complete config that loads with zero
// errors in an empty environment; the quick start has what the README promises.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateConfig

enum ConfigFiles {
    static var directory: String { TestSupport.repositoryRoot() + "/Config" }

    /// Every *.yaml / *.yml below `path`, sorted.
    static func yamlFiles(under path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let full = "\(path)/\(name)"
            var info = stat()
            guard stat(full, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                result += yamlFiles(under: full)
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                result.append(full)
            }
        }
        return result.sorted()
    }

    static var configs: [String] {
        yamlFiles(under: directory).filter { !$0.hasSuffix("/prices.yaml") }
    }
}

@Suite struct ConfigFilesTests {
    @Test func theExpectedFilesExist() {
        let names = ConfigFiles.configs.map { String($0.dropFirst(ConfigFiles.directory.count)) }
        #expect(names.contains("/tollgate.yaml"))
        #expect(names.contains("/examples/openai.yaml"))
        #expect(names.contains("/examples/simulated.yaml"))
    }

    @Test(arguments: ConfigFiles.configs)
    func loadsWithoutErrors(_ path: String) {
        let result = ConfigLoader.load(path: path, environment: [:])
        #expect(result.errors.isEmpty, "\(result.errors.map(\.description))")
        #expect(result.config != nil)
    }

    @Test func quickStart() throws {
        let result = ConfigLoader.load(path: ConfigFiles.directory + "/tollgate.yaml", environment: [:])
        let config = try #require(result.config)
        #expect(config.server.listenAddress == "127.0.0.1:8080")
        #expect(config.backends.map(\.kind) == [.simulated, .simulated])
        #expect(config.backends.map { $0.pricing?.costModel.billingName } == ["always_on", "per_second"])
        #expect(config.model(named: "demo-chat")?.task == .chat)
        #expect(config.model(named: "demo-embed")?.task == .embedding)
        #expect(config.model(named: "demo-image")?.task == .image)
        #expect(!config.admin.isEnabled)
        // The demo key works out of the box and serve announces it.
        let demoKey = "tg-demo-00000000000000000000000000000000"
        #expect(TestSupport.owner(of: demoKey, in: config) == "demo")
        #expect(DemoKeys.announcements(config).count == 1)
        #expect(DemoKeys.announcements(config).first?.contains(demoKey) == true)
        // The only warning is the one about the demo key's default.
        #expect(result.warnings.count == 1)
    }

    @Test func quickStartWithOwnKeys() throws {
        let result = ConfigLoader.load(path: ConfigFiles.directory + "/tollgate.yaml",
                                       environment: ["TOLLGATE_DEMO_KEY": "tg-mine-123456789012", "TOLLGATE_ADMIN_KEY": "tg-admin-123456789012"])
        let config = try #require(result.config)
        #expect(result.diagnostics.isEmpty)
        #expect(config.admin.isEnabled)
        #expect(DemoKeys.announcements(config).isEmpty)
        #expect(TestSupport.owner(of: "tg-demo-00000000000000000000000000000000", in: config) == nil)
        #expect(TestSupport.owner(of: "tg-mine-123456789012", in: config) == "demo")
    }

    @Test func openAIExampleHasNoWarnings() throws {
        let result = ConfigLoader.load(path: ConfigFiles.directory + "/examples/openai.yaml", environment: [:])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
        let config = try #require(result.config)
        #expect(config.backends.allSatisfy { $0.kind == .openai })
        // The example's hash is that of the key named in its comment.
        #expect(TestSupport.owner(of: "tg-example-0000000000000000000000000000", in: config) == "app")
    }

    @Test func pricesFileLoads() throws {
        let result = PricesLoader.load(path: ConfigFiles.directory + "/prices.yaml", environment: [:])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
        let targets = try #require(result.targets)
        // Every target traces to a page and a day (SPEC §1), and every platform the issue names is there.
        #expect(targets.allSatisfy { $0.source.hasPrefix("https://") && $0.asOf.count == 10 })
        let names = Set(targets.map(\.name))
        for name in ["hf-space-t4-small", "hf-space-a10g-small-sleep15m", "hf-zerogpu-pro-overrun", "runpod-flex-16gb",
                     "runpod-active-24gb", "modal-l4", "replicate-t4"] {
            #expect(names.contains(name), "\(name)")
        }
        let t4 = try #require(targets.first { $0.name == "hf-space-t4-small" })
        #expect(t4.pricing == Pricing(billing: .alwaysOn, microDollars: 400_000))
        #expect(t4.maxConcurrency == 1)
        #expect(t4.sleepAfter == nil)
        let sleeping = try #require(targets.first { $0.name == "hf-space-a10g-small-sleep15m" })
        #expect(sleeping.pricing == Pricing(billing: .alwaysOn, microDollars: 1_000_000))
        #expect(sleeping.sleepAfter == Duration.seconds(900))
        #expect(sleeping.coldStart == Duration.seconds(60))
        let flex = try #require(targets.first { $0.name == "runpod-flex-24gb" })
        #expect(flex.pricing == Pricing(billing: .perSecond, microDollars: 190, roundUp: Duration.seconds(1)))
    }

    @Test func pricesFileIsNotAConfig() {
        let result = ConfigLoader.load(path: ConfigFiles.directory + "/prices.yaml", environment: [:])
        #expect(result.errors.map(\.message) == ["unknown key 'targets'"])
    }
}
