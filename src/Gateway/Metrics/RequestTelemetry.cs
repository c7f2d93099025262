namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>
/// Request feature the pipeline's steps fill in (the event type once known, a decisive outcome)
/// and the metrics step reads when the call ends.
/// </summary>
public sealed class RequestTelemetry
{
    /// <summary>The configured event type, or <c>unknown</c> until the schema step has found one.</summary>
    public string EventType { get; set; } = MetricLabels.UnknownEventType;

    /// <summary>The outcome a step decided; null means "judge by the answer".</summary>
    public Outcome? Outcome { get; private set; }

    /// <summary>Records the outcome a step decided; a later step (the timeout) may overrule an earlier one.</summary>
    public void Set(Outcome outcome) => Outcome = outcome;
}
