namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One accepted Talkdesk event type (<c>Gateway:EventTypes:&lt;event_type&gt;</c>).</summary>
public sealed class EventTypeOptions
{
    /// <summary>
    /// The draft-07 JSON Schema file the body must match: absolute, or relative to
    /// <see cref="ValidationOptions.SchemaDirectory"/>. Required.
    /// </summary>
    public string? Schema { get; set; }

    /// <summary>
    /// Optional path on the OCP® destination that events of this type are sent to, replacing the
    /// route's path (for example <c>/chat/events/ended</c>). Default: unset, the route decides.
    /// </summary>
    public string? UpstreamPath { get; set; }
}
