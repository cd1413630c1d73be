/// The binary form of the engine's state, for the server's snapshots: a restart loads the
/// latest snapshot and replays only the log after it (Documentation/Server.md, "Snapshots").
///
/// Every stateful type writes its stored properties in declaration order with
/// ``SnapshotWriter`` and reads them back in the same order with ``SnapshotReader``;
/// integers are little-endian and fixed-width, `Double` and `Float` their IEEE 754 bit
/// patterns, strings a `UInt32` byte count and UTF-8, enums their raw value, and
/// dictionaries their entries sorted by key, so the same state always gives the same bytes.
/// A type's codec lives at the bottom of the type's own file, beside its fields, and its
/// ``SnapshotCodable/snapshotFieldCount`` is checked against its stored properties by a
/// test, so a field added without being written fails the tests.
///
/// The format is versioned as a whole by ``engineSnapshotFormat``: any change to what a
/// codec writes bumps it, and a snapshot of another version is not read (the server then
/// replays the full log).
public let engineSnapshotFormat: UInt32 = 3

/// A value with a binary snapshot form.
protocol SnapshotCodable {
    /// The number of stored properties the codec writes (checked by the tests against
    /// `Mirror(reflecting:)` of a value, so a new field cannot be forgotten).
    static var snapshotFieldCount: Int { get }
    /// Appends the value's form. - Complexity: O(size of the value).
    func write(to w: inout SnapshotWriter)
    /// Reads what ``write(to:)`` wrote.
    /// - Throws: ``SnapshotError`` when the bytes end early or hold an impossible value.
    init(from r: inout SnapshotReader) throws(SnapshotError)
}

/// A snapshot that cannot be read: where in the bytes and why.
public struct SnapshotError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Appends values in the snapshot's binary form (see ``engineSnapshotFormat``).
struct SnapshotWriter: Sendable {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func int<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bool(_ value: Bool) { int(UInt8(value ? 1 : 0)) }
    mutating func double(_ value: Double) { int(value.bitPattern) }
    mutating func float(_ value: Float) { int(value.bitPattern) }
    mutating func timestamp(_ value: Timestamp) { int(value.millisecondsSinceEpoch) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            int(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func byteArray(_ value: [UInt8]) {
        int(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// A presence byte, then the value when present.
    mutating func optional<T>(_ value: T?, _ write: (inout SnapshotWriter, T) -> Void) {
        bool(value != nil)
        if let value { write(&self, value) }
    }

    mutating func value(_ value: some SnapshotCodable) { value.write(to: &self) }

    /// A count, then each element.
    mutating func array<C: Collection>(_ values: C) where C.Element: SnapshotCodable {
        int(UInt32(values.count))
        for v in values { v.write(to: &self) }
    }

    /// A count, then each element written by `write`.
    mutating func array<C: Collection>(_ values: C, _ write: (inout SnapshotWriter, C.Element) -> Void) {
        int(UInt32(values.count))
        for v in values { write(&self, v) }
    }

    /// A count, then the entries sorted by key (the same state gives the same bytes).
    mutating func dictionary<K: Comparable, V>(_ values: [K: V], _ write: (inout SnapshotWriter, K, V) -> Void) {
        int(UInt32(values.count))
        for key in values.keys.sorted() { write(&self, key, values[key]!) }
    }

    mutating func inline<let n: Int, T: FixedWidthInteger>(_ values: InlineArray<n, T>) {
        for i in values.indices { int(values[i]) }
    }

    mutating func inline<let n: Int>(_ values: InlineArray<n, Double>) {
        for i in values.indices { double(values[i]) }
    }

    /// A four-byte marker the reader checks: a codec that wrote more or less than its
    /// reader reads is caught at the next section, with the section's name.
    mutating func section(_ tag: StaticString) {
        int(Self.tag(tag))
    }

    static func tag(_ name: StaticString) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        name.withUTF8Buffer { for b in $0 { h = (h ^ UInt32(b)) &* 0x0100_0193 } }
        return h
    }
}

/// Reads values in the order a ``SnapshotWriter`` wrote them.
/// - Complexity: O(1) per fixed-width value; every count is checked against the bytes
///   left before anything is allocated, so a damaged snapshot fails instead of asking for
///   terabytes.
struct SnapshotReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func int<T: FixedWidthInteger>(_: T.Type = T.self) throws(SnapshotError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw truncated(T.self) }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    mutating func bool() throws(SnapshotError) -> Bool {
        let b: UInt8 = try int()
        guard b <= 1 else { throw SnapshotError("byte \(offset - 1): \(b) is not a boolean") }
        return b == 1
    }

    mutating func double() throws(SnapshotError) -> Double { Double(bitPattern: try int()) }
    mutating func float() throws(SnapshotError) -> Float { Float(bitPattern: try int()) }
    mutating func timestamp() throws(SnapshotError) -> Timestamp { Timestamp(millisecondsSinceEpoch: try int()) }

    mutating func string() throws(SnapshotError) -> String {
        let n = try count(elementSize: 1)
        let s = bytes.withUnsafeBufferPointer { String(decoding: $0[offset..<offset + n], as: UTF8.self) }
        offset += n
        return s
    }

    mutating func byteArray() throws(SnapshotError) -> [UInt8] {
        let n = try count(elementSize: 1)
        let b = Array(bytes[offset..<offset + n])
        offset += n
        return b
    }

    mutating func optional<T>(_ read: (inout SnapshotReader) throws(SnapshotError) -> T) throws(SnapshotError) -> T? {
        try bool() ? try read(&self) : nil
    }

    mutating func value<T: SnapshotCodable>(_: T.Type = T.self) throws(SnapshotError) -> T {
        try T(from: &self)
    }

    /// A raw value written as its raw value (an enum).
    mutating func rawValue<T: RawRepresentable>(_: T.Type = T.self) throws(SnapshotError) -> T where T.RawValue == String {
        let raw = try string()
        guard let v = T(rawValue: raw) else { throw SnapshotError("byte \(offset): \"\(raw)\" is not a \(T.self)") }
        return v
    }

    mutating func array<T: SnapshotCodable>(_: T.Type = T.self, minimumElementSize: Int = 1) throws(SnapshotError) -> [T] {
        try array(minimumElementSize: minimumElementSize) { (r: inout SnapshotReader) throws(SnapshotError) in try T(from: &r) }
    }

    mutating func array<T>(minimumElementSize: Int = 1, _ read: (inout SnapshotReader) throws(SnapshotError) -> T) throws(SnapshotError) -> [T] {
        let n = try count(elementSize: minimumElementSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try read(&self)) }
        return out
    }

    mutating func dictionary<K: Hashable, V>(minimumEntrySize: Int = 1,
                                                   _ read: (inout SnapshotReader) throws(SnapshotError) -> (K, V)) throws(SnapshotError) -> [K: V] {
        let n = try count(elementSize: minimumEntrySize)
        var out: [K: V] = [:]
        out.reserveCapacity(n)
        for _ in 0..<n {
            let (k, v) = try read(&self)
            guard out.updateValue(v, forKey: k) == nil else { throw SnapshotError("byte \(offset): a key appears twice") }
        }
        return out
    }

    mutating func inline<let n: Int, T: FixedWidthInteger>(_: InlineArray<n, T>.Type = InlineArray<n, T>.self) throws(SnapshotError) -> InlineArray<n, T> {
        var out = InlineArray<n, T>(repeating: 0)
        for i in out.indices { out[i] = try int() }
        return out
    }

    mutating func inline<let n: Int>(_: InlineArray<n, Double>.Type = InlineArray<n, Double>.self) throws(SnapshotError) -> InlineArray<n, Double> {
        var out = InlineArray<n, Double>(repeating: 0)
        for i in out.indices { out[i] = try double() }
        return out
    }

    mutating func section(_ tag: StaticString) throws(SnapshotError) {
        let at = offset
        let found: UInt32 = try int()
        guard found == SnapshotWriter.tag(tag) else {
            throw SnapshotError("byte \(at): expected the start of section \(tag); the snapshot was written differently")
        }
    }

    /// A `UInt32` count of elements of at least `elementSize` bytes each, checked against
    /// the bytes left.
    mutating func count(elementSize: Int) throws(SnapshotError) -> Int {
        let at = offset
        let n = Int(try int(UInt32.self))
        guard n <= (bytes.count - offset) / max(1, elementSize) else {
            throw SnapshotError("byte \(at): a count of \(n) is more than the \(bytes.count - offset) bytes left hold")
        }
        return n
    }

    func truncated<T>(_: T.Type) -> SnapshotError {
        SnapshotError("byte \(offset): the snapshot ends before a \(T.self) (\(bytes.count) bytes in all)")
    }
}
