/// A name and its value: a tag, an extra, a user field, a header, a CGI variable.
/// Order matters (it is kept as given), so these live in arrays, not dictionaries.
public struct Field: Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name; self.value = value
    }
}

extension Array where Element == Field {
    /// The value of the last field named `name` (as for a repeated header or variable).
    func last(named name: String) -> String? { last(where: { $0.name == name })?.value }
}
