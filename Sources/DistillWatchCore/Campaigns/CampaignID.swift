/// Campaign ids as reports and the API write them: `campaign-N`, N the campaign's number
/// (from 1, in the order the engine grouped the campaigns).
public enum CampaignID {
    /// `campaign-N` for a campaign number.
    public static func of(number: Int) -> String { "campaign-\(number)" }

    /// The number of a campaign id written as the engine writes it: `campaign-` and a
    /// decimal number from 1 with no sign, no leading zero and no other character. Any other
    /// spelling (`campaign-01`, `campaign-+1`, `campaign- 1`) is `nil`, so that one campaign
    /// has one id, as the log's subjects and shared indicators name it.
    /// - Complexity: O(length).
    public static func number(of id: some StringProtocol) -> Int? {
        let prefix = "campaign-"
        guard id.hasPrefix(prefix) else { return nil }
        let digits = id.utf8.dropFirst(prefix.utf8.count)
        guard let first = digits.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"),
              digits.count <= 18, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
