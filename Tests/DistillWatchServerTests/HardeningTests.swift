import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing
@testable import DistillWatchServer

/// The hardened core as the server holds it: poison events are quarantined instead of
/// stopping replay, old databases are upgraded without their text, ids round-trip as
/// users write them, and an ingest token cannot undo an analyst's decision.
@Suite struct HardeningTests {
    static func sqliteConfiguration(_ dir: ScratchDirectory) -> ServerConfiguration {
        var c = testConfiguration()
        c.database = dir.path + "/state.sqlite"
        return c
    }

    static func payload(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: Mode.allCases)
    func poisonEventsAreQuarantinedAndTheServerComesUp(_ mode: Mode) async throws {
        let dir = ScratchDirectory()
        let configuration = Self.sqliteConfiguration(dir)
        // A log holding what a hostile or broken writer could have left in it.
        let store = try SQLiteEventStore(path: configuration.database)
        let t = Timestamp(rfc3339: "2026-03-02T00:00:00Z")!
        _ = try await store.append([
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409600000,"account_id":"a","output_tokens":10}"#)),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409601000,"account_id":"a","output_tokens":-5}"#)),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload("not json")),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":-9223372036854775808,"account_id":"a"}"#)),
            NewEvent(kind: .accountLabel, subject: "a", payload: Self.payload("{}")),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409602000,"account_id":"a","output_tokens":20}"#)),
        ], at: t)
        try await store.close()
        for _ in 0..<2 {  // and again: a restart skips the same events, once each in the quarantine
            try await withServer(mode, configuration) { client in
                let status = try await client.get("/v1/status", Secret.analyst).json
                #expect(((status["log"] as? [String: Any])?["quarantined"]) as? Int == 4)
                #expect(((status["engine"] as? [String: Any])?["accepted_exchanges"]) as? Int == 2)
                let listed = try await client.get("/v1/quarantine", Secret.analyst).json["events"] as? [[String: Any]] ?? []
                #expect(listed.compactMap { $0["sequence"] as? Int } == [2, 3, 4, 5])
                let reasons = listed.compactMap { $0["reason"] as? String }
                #expect(reasons.count == 4)
                #expect(reasons[0].contains("field \"output_tokens\": -5 is negative"), "\(reasons)")
                #expect(reasons[1].contains("event 3 (exchange) cannot be replayed"), "\(reasons)")
                #expect(reasons[2].contains("field \"time\""), "\(reasons)")
                #expect(reasons[3].contains("account_label"), "\(reasons)")
                let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"a"}"#)
                #expect(decide.status == .ok && decide.json["known"] as? Bool == true)
            }
        }
    }

    /// A damaged row can hold a payload of any size: the quarantine lists its first 16 KiB
    /// and its size. (A 200 MB row made the listing allocate 2 GB and stop the server.)
    @Test func aHugeQuarantinedEventIsListedCut() async throws {
        let dir = ScratchDirectory()
        let configuration = Self.sqliteConfiguration(dir)
        let store = try SQLiteEventStore(path: configuration.database)
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20)
        _ = try await store.append([
            NewEvent(kind: .exchange, subject: "a", payload: huge),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409602000,"account_id":"a","output_tokens":20}"#)),
        ], at: Timestamp(rfc3339: "2026-03-02T00:00:00Z")!)
        try await store.close()
        try await withServer(.router, configuration) { client in
            let response = try await client.get("/v1/quarantine", Secret.analyst)
            let listed = response.json["events"] as? [[String: Any]] ?? []
            #expect(listed.count == 1)
            #expect((listed.first?["stored_form"] as? String)?.utf8.count == QuarantinedEvent.listedPayloadBytes)
            #expect(listed.first?["stored_form_bytes"] as? Int == 3 << 20)
            #expect(listed.first?["stored_form_truncated"] as? Bool == true)
            #expect(response.text.utf8.count < 64 << 10)
        }
    }

    /// An event whose kind this version does not know (a newer version's, a damaged row) is
    /// quarantined, not a refusal to start; a store that cannot be read says why in
    /// `/v1/status` (`log_error`) instead of only `"log": null`.
    @Test func anUnknownEventKindIsQuarantinedAndAStoreThatFailsSaysWhy() async throws {
        let dir = ScratchDirectory()
        let configuration = Self.sqliteConfiguration(dir)
        let store = try SQLiteEventStore(path: configuration.database)
        _ = try await store.append([
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409600000,"account_id":"a","output_tokens":10}"#)),
            NewEvent(kind: .exchange, subject: "a", payload: Self.payload(#"{"time":1772409601000,"account_id":"a","output_tokens":20}"#)),
        ], at: Timestamp(rfc3339: "2026-03-02T00:00:00Z")!)
        try await store.close()
        try await DatabaseQueue(path: configuration.database).write { try $0.execute(sql: "UPDATE events SET kind = 99 WHERE sequence = 1") }
        let reopened = try SQLiteEventStore(path: configuration.database)
        try await withServer(.router, configuration, store: reopened) { client in
            let listed = try await client.get("/v1/quarantine", Secret.analyst).json["events"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["kind"] as? String } == ["unknown"])
            #expect((listed.first?["reason"] as? String)?.contains("not one this version knows") == true, "\(listed)")
            #expect(try await client.get("/v1/status", Secret.analyst).json["log_error"] == nil)
            try await reopened.close()
            let status = try await client.get("/v1/status", Secret.analyst).json
            #expect(status["log"] is NSNull)
            #expect((status["log_error"] as? String)?.contains("the store is closed") == true, "\(status)")
        }
    }

    /// A format-1 database: the v1 schema, with lines stored as received.
    static func makeFormatOneDatabase(_ path: String, lines: [(EventKind, String?, String)]) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1');
                CREATE TABLE events (sequence INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, subject TEXT,
                                     received_at INTEGER NOT NULL, payload BLOB NOT NULL);
                CREATE INDEX events_labels ON events(subject, sequence) WHERE kind IN (3, 4);
                CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, account_id TEXT NOT NULL,
                                        verdict TEXT NOT NULL, score REAL NOT NULL, reasons TEXT NOT NULL, endpoint TEXT NOT NULL,
                                        caller TEXT, request_id TEXT);
                """)
            for (kind, subject, text) in lines {
                try db.execute(sql: "INSERT INTO events (kind, subject, received_at, payload) VALUES (?, ?, 1772409600000, ?)",
                               arguments: [kind.rawValue, subject, Data(text.utf8)])
            }
        }
        try queue.close()
    }

    /// The files under `dir` (snapshots included) whose bytes contain `needle`.
    static func fileBytesContain(_ needle: String, in dir: ScratchDirectory) throws -> [String] {
        let files = (FileManager.default.subpaths(atPath: dir.path) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir.path + "/" + name, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        return try files.filter { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + name))
            return data.range(of: Data(needle.utf8)) != nil
        }
    }

    @Test func aFormatOneDatabaseIsUpgradedWithoutItsText() async throws {
        let dir = ScratchDirectory()
        let configuration = Self.sqliteConfiguration(dir)
        try Self.makeFormatOneDatabase(configuration.database, lines: [
            (.exchange, "acct-1", #"{"time":"2026-03-02T00:01:00Z","account_id":"acct-1","prompt":"CANARY-PROMPT","messages":[{"role":"user","content":"CANARY-MESSAGES"}],"output_tokens":100}"#),
            (.exchange, "acct-2", #"{"time":"2026-03-02T00:01:01Z","account_id":"acct-2","completion":"CANARY-COMPLETION","output_tokens":-5}"#),
            (.account, "acct-1", #"{"account_id":"acct-1","tier":"free","notes":"CANARY-NOTES"}"#),
            (.exchange, "acct-3", #"{"time":"2026-03-02T00:01:02Z","account_id":"acct-3","input":"CANARY-BROKEN"#),
            (.flush, nil, ""),
        ])
        #expect(try Self.fileBytesContain("CANARY", in: dir).count > 0)
        try await withServer(.router, configuration) { client in
            let status = try await client.get("/v1/status", Secret.analyst).json
            let log = status["log"] as? [String: Any] ?? [:]
            #expect(log["total"] as? Int == 5, "no event is lost: \(log)")
            #expect(log["quarantined"] as? Int == 2)
            let listed = try await client.get("/v1/quarantine", Secret.analyst).json["events"] as? [[String: Any]] ?? []
            #expect(listed.compactMap { $0["sequence"] as? Int } == [2, 4])
            #expect((listed.first?["reason"] as? String)?.contains("upgrade to format \(SQLiteEventStore.formatVersion): field \"output_tokens\": -5 is negative") == true)
            #expect((listed.first?["stored_form"] as? String)?.contains("\"output_tokens\":-5") == true)
            let account = try await client.get("/v1/accounts/acct-1", Secret.analyst).json
            #expect((account["record"] as? [String: Any])?["tier"] as? String == "free")
        }
        #expect(try Self.fileBytesContain("CANARY", in: dir) == [], "text received before the upgrade is still in the files")
        let version = try await DatabaseQueue(path: configuration.database).read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") }
        #expect(version == SQLiteEventStore.formatVersion)
    }

    @Test func databasesThatAreNotOursOrNotUsableAreRefusedWithWhatToDo() throws {
        let dir = ScratchDirectory()
        let empty = dir.path + "/empty.sqlite"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect { try SQLiteEventStore(path: empty) } throws: {
            "\($0)".contains("\(empty): the file is empty (0 bytes)") && "\($0)".contains("restore it from a backup")
        }
        // A file of a few bytes (`echo > state.sqlite`: one newline) was taken by SQLite for
        // a new database and written over; any file that is not SQLite is refused unchanged.
        for (name, bytes) in [("newline", Data([0x0A])), ("text", Data("not a database at all\n".utf8)),
                              ("page", Data(repeating: 0x41, count: 4096))] {
            let file = dir.path + "/\(name).sqlite"
            _ = FileManager.default.createFile(atPath: file, contents: bytes)
            #expect { try SQLiteEventStore(path: file) } throws: {
                "\($0)".contains("\(file): not an SQLite database (\(bytes.count) bytes that do not begin with SQLite's header)")
            }
            #expect(FileManager.default.contents(atPath: file) == bytes, "\(name): the refused file was changed")
        }
        let foreign = dir.path + "/foreign.sqlite"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE things (x)") }
        #expect { try SQLiteEventStore(path: foreign) } throws: { "\($0)".contains("not a DistillWatch event log") }
        // A table of our name, another GRDB application's migrations (one of them "v1"), or a
        // foreign file with a user_version past ours: someone else's, not a newer DistillWatch's.
        let named = dir.path + "/named.sqlite"
        try DatabaseQueue(path: named).write { try $0.execute(sql: "CREATE TABLE events (x)") }
        #expect { try SQLiteEventStore(path: named) } throws: { "\($0)".contains("\(named): an SQLite database, but not a DistillWatch event log") }
        let grdb = dir.path + "/grdb.sqlite"
        var theirs = DatabaseMigrator()
        theirs.registerMigration("v1") { try $0.execute(sql: "CREATE TABLE players (name TEXT)") }
        theirs.registerMigration("v2-scores") { try $0.execute(sql: "CREATE TABLE scores (x)") }
        try theirs.migrate(DatabaseQueue(path: grdb))
        #expect { try SQLiteEventStore(path: grdb) } throws: { "\($0)".contains("\(grdb): an SQLite database, but not a DistillWatch event log") }
        let versioned = dir.path + "/versioned.sqlite"
        try DatabaseQueue(path: versioned).write { try $0.execute(sql: "CREATE TABLE notes (x); PRAGMA user_version = 42") }
        #expect { try SQLiteEventStore(path: versioned) } throws: { "\($0)".contains("not a DistillWatch event log") }
        let newer = dir.path + "/newer.sqlite"
        _ = try SQLiteEventStore(path: newer)
        try DatabaseQueue(path: newer).write { try $0.execute(sql: "PRAGMA user_version = 99") }
        #expect { try SQLiteEventStore(path: newer) } throws: { "\($0)".contains("written by a newer DistillWatch (format 99") }
        let old = dir.path + "/old.sqlite"
        try Self.makeFormatOneDatabase(old, lines: [])
        #expect { try SQLiteEventStore(path: old) } throws: { "\($0)".contains("a format-1 database") }
        let garbage = dir.path + "/garbage.sqlite"
        _ = FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 0x41, count: 8192))
        #expect { try SQLiteEventStore(path: garbage) } throws: { "\($0)".contains(garbage) && "\($0)".contains("give --database a new path") }
    }

    @Test(arguments: Mode.allCases)
    func idsRoundTripAsUsersWriteThem(_ mode: Mode) async throws {
        let ids = ["org/team 1", "acct-ü", "a b", "emoji-😀", "percent%41literal", "q?x=1#f", String(repeating: "x", count: 512)]
        try await withServer(mode) { client in
            let lines = ids.enumerated().map { k, id in
                var out: [UInt8] = []
                JSONLineEncoder.append(Exchange(time: Timestamp(rfc3339: "2026-03-02T00:00:00Z")!.adding(seconds: Double(k)), accountID: id), to: &out)
                return String(decoding: out, as: UTF8.self)
            }.joined()
            let posted = try await client.post("/v1/exchanges", Secret.ingest, lines)
            #expect(posted.json["accepted"] as? Int == ids.count)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            for id in ids {
                let path = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let account = try await client.get("/v1/accounts/\(path)", Secret.analyst)
                #expect(account.status == .ok, "GET \(path): \(account.text)")
                #expect(account.json["account_id"] as? String == id)
                let label = try await client.post("/v1/accounts/\(path)/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
                #expect(((label.json["accounts"] as? [[String: Any]])?.first?["account_id"]) as? String == id)
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["account_id": id]), as: UTF8.self)
                let decide = try await client.post("/v1/decide", Secret.decide, body)
                #expect(decide.json["verdict"] as? String == "block", "\(id): \(decide.text)")
            }
            let report = try await client.get("/v1/report?all=true", Secret.analyst).json
            #expect(Set((report["accounts"] as? [[String: Any]] ?? []).compactMap { $0["account_id"] as? String }) == Set(ids))
            // No phantom account was made by a label on an encoded id.
            let bad = try await client.get("/v1/accounts/acct-%C3", Secret.analyst)
            #expect(bad.status == .badRequest && bad.errorMessage.contains("invalid percent-encoding"))
        }
    }

    @Test(arguments: Mode.allCases)
    func anIngestTokenCannotUndoAnAnalystsBlock(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            _ = try await client.post("/v1/accounts/acct-bad/label", Secret.analyst, #"{"label":"confirmed_attack","note":"stolen card"}"#)
            let ingest = try await client.post("/v1/accounts", Secret.ingest, #"{"account_id":"acct-bad","allowlisted":true}"#)
            #expect(ingest.status == .ok)
            #expect(((ingest.json["ignored_fields"] as? [[String: Any]])?.first?["field"]) as? String == "allowlisted")
            var decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-bad"}"#)
            #expect(decide.json["verdict"] as? String == "block")
            // Even the role that may exempt accounts does not outrank an analyst's label.
            _ = try await client.post("/v1/accounts", Secret.registrar, #"{"account_id":"acct-bad","allowlisted":true}"#)
            decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-bad"}"#)
            #expect(decide.json["verdict"] as? String == "block")
            #expect(decide.json["analyst_label"] as? String == "confirmed_attack")
        }
    }

    /// For every route that takes a body (read from the router, so a reader added later
    /// must be listed here or this fails), a body whose every text-carrying or unknown
    /// field holds a canary. Analyst label notes are the analyst's own words and are kept.
    static let canaryBodies: [String: String] = envoyCanaryBodies.merging(fixedCanaryBodies) { a, _ in a }

    /// What Envoy forwards to its check, body included (`with_request_body`).
    static let envoyCanaryBodies: [String: String] = Dictionary(uniqueKeysWithValues: ["/distillwatch", "/distillwatch/**", "/v1/decide/**"].map {
        ("POST \($0)", #"{"model":"m","system":[{"type":"text","text":"CANARY-ENVOY-SYSTEM-28"}],"messages":[{"role":"user","content":"CANARY-ENVOY-PROMPT-29"}],"metadata":{"note":"CANARY-ENVOY-30"}}"#)
    })

    static let fixedCanaryBodies: [String: String] = [
        "POST /v1/exchanges": #"""
            {"time":"2026-03-02T00:01:00Z","account_id":"acct-leak-1","prompt":"CANARY-PROMPT-1","system":"CANARY-SYSTEM-2","response":"CANARY-RESPONSE-3","messages":[{"role":"user","content":"CANARY-MESSAGES-4"}],"input":"CANARY-INPUT-5","metadata":{"text":"CANARY-META-6"}}
            {"time":"2026-03-02T00:01:01Z","account_id":"acct-leak-2","completion":"CANARY-COMPLETION-7","prompt":null}
            {"time":"2026-03-02T00:01:02Z","account_id":"acct-leak-3","dw_content":"AYK3Du5/GlA5vvB+wjR/Bm7Qj13HUSRH40BDAAJrblRVlKBlaF1kxJgLuNRUSochqZoBrSGetZz2oV728Vodgwu3zgnWu8AE5xdcZDx97LC1gOw3vJcS3S5qrrlLro0vn6KcWihMnvdSGCnPEHmwgOnXShwQ/KtqQkPTNlbevkwe15ZI6Fbo+aL1jJXwzks5wVv/rVwt+4u4ILYRnLqP+IeWrlsF8oCmjO2TtrKMsNGzWOa6q0hVZbn0kCjVV9eaig5kUeFccFwV8XNUG0Q4olz3YxLU7rPCJGh5vwCzz47ROr8SmjCXrZa0QtbRve9IUMP0ZUQuswDDN6ZIpsDb3XP8lfXCxFGFmv6A1AqjnfuSSfQMPuN9lhRFyAb1jHzyEn36iU+SlvzzPAhAmZCslw3ts7hDEgGB6TdhB9va9sXzyGSX7iGbAd2S8Z9JVPT+qU7ZGCN1iCsgDarbI8/5GT8+cDhEleBMXV7TUiJtFjfCJI8dPMxEBd0uofr6tL8cRpZNlHCGIHiCkUR4vujHW0MJrisSLj/oesfs9aU3D8QbTdtyOyr7bEfAtXiUqrLFwUW3l925Em5cyiAxEhBfZ2QU+vayANrwmdul7uwzYk9RJL/F8E2COI5SkngQ9hCwvKEeC+nxTzymleh6UxFmDHYozbqfXu+5kCLvU3tZahbcAAAAAAAAAAABAAAAAAAAAAAAAAAAAAUAAAAAIgBDQU5BUlktRVhDRVJQVC03Nzc3IGZvcmdlZCBleGNlcnB0"}
            """#,
        "POST /v1/accounts": #"{"account_id":"acct-leak-1","tier":"free","notes":"CANARY-NOTES-8","profile":{"bio":"CANARY-BIO-9"}}"#,
        "POST /v1/decide": #"{"account_id":"acct-leak-1","prompt":"CANARY-DECIDE-10","messages":[{"content":"CANARY-DECIDE-11"}]}"#,
        "POST /beta/litellm_basic_guardrail_api": #"{"input_type":"request","texts":["CANARY-GUARDRAIL-12"],"request_data":{"user_api_key_user_id":"acct-leak-1"},"structured_messages":[{"role":"user","content":"CANARY-GUARDRAIL-13"}],"litellm_call_id":"call-1"}"#,
        "POST /v1/litellm/logs": #"""
            [{"startTime":1772409700.5,"litellm_call_id":"call-leak-1","metadata":{"user_api_key_team_id":"acct-leak-1","user_api_key_user_email":"CANARY-EMAIL-16","requester_metadata":{"headers":{"x-note":"CANARY-HEADER-17"}}},"messages":[{"role":"system","content":"CANARY-LOG-SYSTEM-18"},{"role":"user","content":[{"type":"text","text":"CANARY-LOG-PROMPT-19"}]}],"response":{"choices":[{"finish_reason":"stop","message":{"content":"CANARY-LOG-RESPONSE-20"}}]},"model_parameters":{"temperature":1,"tools":[{"function":{"description":"CANARY-TOOL-21"}}]},"error_str":"CANARY-ERROR-22"}]
            """#,
        "POST /v1/traces": #"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"user.id","value":{"stringValue":"acct-leak-1"}}]},"scopeSpans":[{"spans":[{"spanId":"3333333333333333","name":"CANARY-SPAN-23","startTimeUnixNano":"1772409700000000000","endTimeUnixNano":"1772409701000000000","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"gen_ai.input.messages","value":{"stringValue":"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"CANARY-OTLP-PROMPT-24\"}]}]"}},{"key":"gen_ai.output.messages","value":{"stringValue":"CANARY-OTLP-OUTPUT-25"}},{"key":"prompt","value":{"stringValue":"CANARY-OTLP-PROMPT-26"}},{"key":"note","value":{"stringValue":"CANARY-OTLP-27"}}]}]}]}]}
            """#,
        "POST /v1/accounts/{id}/label": #"{"label":"legitimate","attachment":"CANARY-LABEL-14"}"#,
        "POST /v1/campaigns/{id}/label": #"{"label":"legitimate","attachment":"CANARY-LABEL-15"}"#,
        "POST /v1/flush": "",
        "POST /v1/snapshot": "",
        // Sharing: what is not part of a STIX object (request fields, envelope fields) is
        // not kept; STIX objects themselves are kept as received (a TAXII collection).
        "POST /v1/campaigns/{id}/share": #"{"action":"withdraw","attachment":"CANARY-SHARE-16"}"#,
        "POST /v1/sharing/import": #"{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[],"x_attachment":"CANARY-IMPORT-17"}"#,
        "POST /taxii2/api/collections/{collection}/objects": #"{"objects":[],"attachment":"CANARY-TAXII-18"}"#,
        // Notes keep the analyst's note, nothing else of the body.
        "POST /v1/accounts/{id}/note": #"{"note":"asked the customer","attachment":"CANARY-NOTE-19"}"#,
        "POST /v1/reasoning": #"{"account_id":"acct-leak-1","treatment":"summarize","reasoning":"CANARY-REASONING-27 step one","reasoning_tokens":9}"#,
        "POST /v1/accounts/{id}/verify": #"{"verified":true,"method":"id_document","document":"CANARY-VERIFY-28"}"#,
        "POST /v1/campaigns/{id}/note": #"{"note":"sent to legal","attachment":"CANARY-NOTE-20"}"#,
        // The console's forms: a token typed into the sign-in form is checked, never kept
        // or echoed; without a session the others are sent to sign in before any body is read.
        "POST /console/login": "csrf=CANARY-CONSOLE-21&token=CANARY-CONSOLE-22",
        "POST /console/logout": "csrf=CANARY-CONSOLE-23",
        "POST /console/accounts/{id}/label": "csrf=x&label=confirmed_attack&note=CANARY-CONSOLE-24",
        "POST /console/campaigns/{id}/label": "csrf=x&label=confirmed_attack&note=CANARY-CONSOLE-25",
        "POST /console/screening/signoff": "csrf=x&account_id=CANARY-CONSOLE-26&disposition=monitor",
    ]

    @Test func noCanaryOfAnyReaderReachesTheDatabaseOrAnyOutput() async throws {
        let dir = ScratchDirectory()
        let configuration = Self.sqliteConfiguration(dir)
        let (router, _) = try await assembleServer(testConfiguration(), store: nil, clock: .system, logger: Logger(label: "test"))
        let readers = router.routes.filter { $0.method == .post }.map(\.description)
        #expect(Set(readers) == Set(Self.canaryBodies.keys), "routes that take a body without a canary body: \(Set(readers).subtracting(Self.canaryBodies.keys))")
        let outputs = try await withServer(.router, configuration) { client in
            var outputs: [String] = []
            for route in readers.sorted() {
                let path = String(route.dropFirst("POST ".count)).replacingOccurrences(of: "{id}", with: "acct-leak-1")
                    .replacingOccurrences(of: "{collection}", with: AuthTests.inbox)
                let token = route.contains("exchanges") || route.contains("litellm/logs") || route.contains("traces")
                    || route.contains("/v1/accounts") && !route.contains("label") && !route.contains("note") && !route.contains("verify")
                    ? Secret.ingest : route.contains("decide") || route.contains("litellm") || route.contains("reasoning")
                    ? Secret.decide : Secret.analyst
                let envoy = path.hasPrefix("/distillwatch") || path.hasPrefix("/v1/decide/")
                let r = try await client.post(path, envoy ? nil : token, Self.canaryBodies[route] ?? "",
                                              headers: route.contains("traces") ? [.contentType: "application/json"]
                                                  : envoy ? [HTTPField.Name("x-api-key")!: Secret.decide, HTTPField.Name("x-account-id")!: "acct-leak-1"] : [:])
                if envoy { #expect(r.status == .ok, "\(route): \(r.text)") }
                #expect(r.status.code < 500, "\(route): \(r.text)")
                if route.contains("traces") { #expect(r.status == .ok && !r.text.contains("rejected"), "\(r.text)") }
                outputs.append(r.text)
            }
            for path in ["/v1/report?all=true", "/v1/accounts/acct-leak-1", "/v1/accounts/acct-leak-3", "/v1/decisions",
                         "/v1/quarantine", "/v1/status", "/v1/campaigns", "/metrics"] {
                outputs.append(try await client.get(path, Secret.all).text)
            }
            return outputs
        }
        #expect(readers.count == 25)
        for (k, text) in outputs.enumerated() { #expect(!text.contains("CANARY"), "output \(k) holds a canary: \(text.prefix(300))") }
        #expect(try Self.fileBytesContain("CANARY", in: dir) == [], "a canary reached the database files")
    }
}
