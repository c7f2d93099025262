namespace OcpTalkdesk.Gateway.Validation;

/// <summary>What the validator decided about a body.</summary>
internal enum VerdictKind
{
    /// <summary>The body matches its schema and may be forwarded.</summary>
    Valid,

    /// <summary>The body is not one strict JSON value (or not an object, for an event).</summary>
    Malformed,

    /// <summary>The event's <c>event_type</c> is missing, not a string, or not configured.</summary>
    UnknownEventType,

    /// <summary>The body breaks its schema; the violations say where.</summary>
    SchemaViolation,

    /// <summary>
    /// The schema itself could not be evaluated for this body (a reference JsonSchema.Net cannot
    /// resolve that the load-time check let through). Never forwarded; the gateway's fault, not the caller's.
    /// </summary>
    SchemaError,
}
