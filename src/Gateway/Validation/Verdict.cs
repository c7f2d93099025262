namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The validator's answer for one body. A valid verdict allocates nothing (a struct holding the
/// schema), so the common case costs no garbage.
/// </summary>
internal readonly record struct Verdict(VerdictKind Kind, EventSchema? Schema, string? Detail,
    IReadOnlyList<SchemaViolation> Violations, int OmittedViolations)
{
    public bool IsValid => Kind == VerdictKind.Valid;

    public static Verdict Valid(EventSchema? schema) => new(VerdictKind.Valid, schema, null, [], 0);

    public static Verdict Malformed(string detail) => new(VerdictKind.Malformed, null, detail, [], 0);

    public static Verdict UnknownEventType(string detail) => new(VerdictKind.UnknownEventType, null, detail, [], 0);
}
