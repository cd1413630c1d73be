/// Traffic Light Protocol 2.0 (FIRST, 2022) as STIX 2.1 marking definitions: the
/// definitions OASIS published with the TLP 2.0 extension
/// (`extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`), which every object a
/// bundle shares references by `object_marking_refs`.
public enum TrafficLightProtocol: String, CaseIterable, Sendable, Codable {
    case clear = "TLP:CLEAR"
    case green = "TLP:GREEN"
    case amber = "TLP:AMBER"
    case amberStrict = "TLP:AMBER+STRICT"
    case red = "TLP:RED"

    /// Parses `TLP:AMBER`, `amber`, `amber+strict` (any case).
    public init?(name: String) {
        let n = name.uppercased().hasPrefix("TLP:") ? name.uppercased() : "TLP:" + name.uppercased()
        guard let v = TrafficLightProtocol(rawValue: n) else { return nil }
        self = v
    }

    /// The value of the extension's `tlp_2_0` property.
    public var level: String {
        switch self {
        case .clear: return "clear"
        case .green: return "green"
        case .amber: return "amber"
        case .amberStrict: return "amber+strict"
        case .red: return "red"
        }
    }

    public static let extensionDefinitionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    /// The marking definition's id.
    public var markingDefinitionID: String {
        switch self {
        case .clear: return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        case .green: return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
        case .amber: return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
        case .amberStrict: return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        case .red: return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        }
    }

    public init?(markingDefinitionID id: String) {
        guard let v = Self.allCases.first(where: { $0.markingDefinitionID == id }) else { return nil }
        self = v
    }

    /// The marking-definition object exactly as published (no `created_by_ref`, no
    /// `modified`).
    public var markingDefinition: [String: Any] {
        [
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": markingDefinitionID,
            "created": "2022-10-01T00:00:00.000Z",
            "name": rawValue,
            "extensions": [Self.extensionDefinitionID: ["extension_type": "property-extension", "tlp_2_0": level]],
        ]
    }

    /// How strict the marking is (CLEAR 0 … RED 4), for "no more open than" checks.
    public var rank: Int { Self.allCases.firstIndex(of: self)! }
}
