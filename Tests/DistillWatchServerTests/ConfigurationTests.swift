import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchServer

@Suite struct ConfigurationTests {
    @Test func fileThenEnvironmentThenFlagsEachOverrideTheOneBefore() throws {
        let dir = ScratchDirectory()
        let file = dir.path + "/serve.yaml"
        try """
            host: 0.0.0.0
            port: 9000
            database: state.sqlite
            synchronous: normal
            reorder_tolerance_seconds: 120
            decision_audit: flagged
            litellm_account_fields: [team_id, user_id]
            tokens:
              - {name: gateway, roles: [decide], secret_env: DW_GATEWAY}
              - name: pipeline
                roles: [ingest, analyst]
                secret: pipeline-secret-0000000001
            """.write(toFile: file, atomically: true, encoding: .utf8)
        var c = ServerConfiguration()
        let environment = ["DW_GATEWAY": "gateway-secret-000000000001", "DISTILLWATCH_PORT": "9100",
                           "DISTILLWATCH_TOKENS": "ops:analyst:ops-secret-0000000000001"]
        try c.apply(yamlFile: file, environment: environment)
        try c.apply(environment: environment)
        #expect(c.host == "0.0.0.0")
        #expect(c.port == 9100)
        #expect(c.database == dir.path + "/state.sqlite")
        #expect(c.synchronous == .normal)
        #expect(c.reorderToleranceSeconds == 120)
        #expect(c.decisionAudit == .flagged)
        #expect(c.litellmAccountFields == ["team_id", "user_id"])
        #expect(c.tokens.map(\.name) == ["gateway", "pipeline", "ops"])
        #expect(c.tokens[0].secret == "gateway-secret-000000000001")
        #expect(c.tokens[1].roles == [.ingest, .analyst])
        try c.validate()
    }

    @Test func mistakesAreClearErrors() throws {
        let dir = ScratchDirectory()
        func load(_ yaml: String, _ environment: [String: String] = [:]) -> String {
            let file = dir.path + "/bad.yaml"
            try? yaml.write(toFile: file, atomically: true, encoding: .utf8)
            var c = ServerConfiguration()
            do {
                try c.apply(yamlFile: file, environment: environment)
                try c.validate()
                return ""
            } catch {
                return error.description
            }
        }
        #expect(load("prot: 80").contains("prot: unknown setting"))
        #expect(load("port: eighty").contains("port: should be an integer"))
        #expect(load("tokens:\n  - {name: a, roles: [root], secret: aaaaaaaaaaaaaaaaaaaa}").contains("unknown role \"root\""))
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret_env: NOPE}").contains("NOPE is not set"))
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret: short}").contains("at least 16"))
        #expect(load("port: 8080").contains("no access token configured"))
        #expect(load("litellm_account_fields: [email]\ntokens:\n  - {name: a, roles: [decide], secret: aaaaaaaaaaaaaaaaaaaa}")
            .contains("unknown LiteLLM account field"))
        let token = "\ntokens:\n  - {name: a, roles: [decide], secret: aaaaaaaaaaaaaaaaaaaa}"
        #expect(load("envoy_path_prefix: /v1/envoy" + token).contains("outside /v1"))
        // Under the console or TAXII the prefix's route met theirs and the process stopped.
        for prefix in ["/console", "/console/campaigns", "/taxii2", "/taxii2/api"] {
            #expect(load("envoy_path_prefix: \(prefix)" + token).contains("outside /v1, /beta, /metrics, /healthz, /taxii2, /console"), "\(prefix)")
        }
        #expect(load("envoy_path_prefix: /consoles" + token) == "")
        // A snapshot interval far past a year overflowed Duration after the first event.
        #expect(load("snapshot_interval_seconds: 1.0e+21" + token).contains("snapshot_interval_seconds: 1e+21; give a positive number of seconds up to 31536000"))
        #expect(load("snapshot_interval_seconds: 31536000" + token) == "")
        // Both secret and secret_env: which one holds must not be a guess.
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret: aaaaaaaaaaaaaaaaaaaa, secret_env: HOME}")
            .contains("gives both secret and secret_env"))
        // `off` unquoted is YAML's false: the example's own spelling works.
        var offUnquoted = ServerConfiguration()
        try "snapshot_directory: off\n".write(toFile: dir.path + "/off.yaml", atomically: true, encoding: .utf8)
        try offUnquoted.apply(yamlFile: dir.path + "/off.yaml", environment: [:])
        #expect(!offUnquoted.snapshotsEnabled)
        #expect(load("snapshot_directory: true" + token).contains("should be a directory path, or off"))
        // A file that cannot be read says why.
        var missing = ServerConfiguration()
        #expect(performing: { try missing.apply(yamlFile: dir.path + "/absent.yaml", environment: [:]) },
                throws: { "\($0)" == "\(dir.path)/absent.yaml: no such file (the configuration file)" })
        #expect(performing: { try missing.apply(yamlFile: dir.path, environment: [:]) },
                throws: { "\($0)" == "\(dir.path): is a directory, not a configuration file" })
        #expect(performing: { try missing.loadPolicy(dir.path + "/absent-policy.yaml") },
                throws: { "\($0)".contains("no such file (the policy file)") })
        #expect(load("envoy_path_prefix: distillwatch" + token).contains("envoy_path_prefix"))
        #expect(load("envoy_key_header: Authorization" + token).contains("the client's own key"))
        #expect(load("envoy_account_header: \"bad header\"" + token).contains("not a header name"))
        #expect(load("otlp_account_attributes: []" + token).contains("otlp_account_attributes"))
        // Settings that once started a server that could not do what they said.
        #expect(load("log_level: bogus" + token).contains("log level \"bogus\": give one of trace, debug, info"))
        #expect(load("log_level: warning" + token) == "")
        #expect(load("tokens:\n  - {name: ops, roles: [decide], secret: aaaaaaaaaaaaaaaaaaaa}\n  - {name: ops, roles: [analyst], secret: bbbbbbbbbbbbbbbbbbbb}")
            .contains("token \"ops\": the name is configured twice with different roles (decide and analyst)"))
        // One name with two secrets and the same roles: a rotation.
        #expect(load("tokens:\n  - {name: ops, roles: [decide], secret: aaaaaaaaaaaaaaaaaaaa}\n  - {name: ops, roles: [decide], secret: bbbbbbbbbbbbbbbbbbbb}") == "")
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret: \"aaaaaaaaaaaaaaaaaaaa \"}").contains("begins or ends with whitespace"))
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret: \"                \"}").contains("begins or ends with whitespace"))
        #expect(load("tokens:\n  - {name: a, roles: [decide], secret: \"aaaaaaaa\\taaaaaaaaaaa\"}").contains("control character"))
        // A TAXII feed's settings: a quoted interval fell back to 300 s, a misspelt setting was
        // ignored (so was its value), and of two ways to authenticate one was taken silently.
        let feed = "taxii_feeds:\n  - {name: peer, api_root: \"http://taxii.example/api/\", collection: c1, token_env: HOME"
        var feedRead = ServerConfiguration()
        try (feed + ", interval_seconds: 60}" + token).write(toFile: dir.path + "/feed.yaml", atomically: true, encoding: .utf8)
        try feedRead.apply(yamlFile: dir.path + "/feed.yaml", environment: ["HOME": "secret-value"])
        #expect(feedRead.taxiiFeeds.first?.intervalSeconds == 60)
        #expect(load(feed + ", interval_seconds: \"60\"}" + token, ["HOME": "x"])
            .contains("taxii_feeds[0]: interval_seconds should be a number of seconds"))
        #expect(load(feed + ", intervall_seconds: 60}" + token, ["HOME": "x"])
            .contains("taxii_feeds[0].intervall_seconds: unknown setting; known: api_root, bearer_env"))
        #expect(load(feed + ", bearer_env: HOME}" + token, ["HOME": "x"])
            .contains("taxii_feeds[0]: gives bearer_env and token_env: give one way to authenticate"))
        #expect(load("shard: {index: 0, nodes: [\"http://a:1\"], campaigns: {store: \"clickhouse://ch:8123/dw\", run: r, interval_seconds: \"60\"}}" + token)
            .contains("campaigns.interval_seconds: should be a number of seconds"))
        var c = ServerConfiguration()
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["DISTILLWATCH_PORT": "x"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["DISTILLWATCH_SYNCHRONOUS": "off"]) }
    }
}

@Suite struct ExampleServerConfigurationTests {
    @Test func theExampleNamesEverySettingWithItsDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Examples/serve.yaml").path
        var c = ServerConfiguration()
        let environment = ["DW_PIPELINE_TOKEN": "pipeline-secret-00000001", "DW_REGISTRAR_TOKEN": "registrar-secret-000001",
                           "DW_GATEWAY_TOKEN": "gateway-secret-00000001", "DW_ALICE_TOKEN": "alice-secret-0000000001",
                           "DW_GLOBEX_TOKEN": "globex-secret-000000001"]
        try c.apply(yamlFile: path, environment: environment)
        try c.validate()
        let d = ServerConfiguration()
        #expect(c.host == d.host && c.port == d.port && c.synchronous == d.synchronous)
        #expect(c.database == root.appendingPathComponent("Examples").path + "/" + d.database, "relative to the file")
        #expect(c.reorderToleranceSeconds == d.reorderToleranceSeconds)
        #expect(c.maxIngestBodyBytes == d.maxIngestBodyBytes && c.maxRequestBodyBytes == d.maxRequestBodyBytes)
        #expect(c.decisionAudit == d.decisionAudit && c.auditQueueCapacity == d.auditQueueCapacity)
        #expect(c.litellmAccountFields == d.litellmAccountFields && c.captureText == d.captureText && c.logLevel == d.logLevel)
        #expect(c.otlpAccountAttributes == d.otlpAccountAttributes)
        #expect(c.envoyPathPrefix == d.envoyPathPrefix && c.envoyAccountHeader == d.envoyAccountHeader && c.envoyKeyHeader == d.envoyKeyHeader)
        #expect(c.tokens.map(\.name) == ["pipeline", "registrar", "gateway", "alice", "globex"])
        #expect(c.tokens[4].roles == [.shareRead, .shareWrite])
        #expect(c.tokens[1].roles == [.ingest, .exempt])
        // Every key the loader knows is in the example (a new setting must be added there).
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ServerConfiguration.fileKeys where key != "policy" {
            #expect(text.contains("\n\(key):"), "Examples/serve.yaml lacks \(key)")
        }
        #expect(text.contains("# policy:"))
    }
}
