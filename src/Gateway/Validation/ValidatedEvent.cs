namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Request feature set once the body has passed its schema: what later steps (routing to a
/// per-type path, metrics) need to know without parsing again.
/// </summary>
internal sealed class ValidatedEvent(EventSchema schema, BufferedBody body)
{
    public EventSchema Schema { get; } = schema;

    /// <summary>The exact bytes received and forwarded.</summary>
    public BufferedBody Body { get; } = body;
}
