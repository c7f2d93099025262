using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Outcomes;

/// <summary>
/// Request feature of a proxied call, set by the outcome step (<see cref="OutcomeMiddleware"/>), which
/// reads it when the call ends to write the call's metrics and span tags. A step that answers a call itself
/// (inbound auth, validation, the token transform, store-and-forward) says here what it decided; the
/// validation step names the event type. The upstream-timing step also reads it, to leave out calls that
/// never reached OCP®.
/// </summary>
public sealed class CallOutcome
{
    /// <summary>When the call reached the gateway (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</summary>
    public long StartedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>The configured event type, or <c>unknown</c> until the schema step has found one.</summary>
    public string EventType { get; set; } = MetricLabels.UnknownEventType;

    /// <summary>The outcome a step decided; null means "judge by the answer".</summary>
    public Outcome? Decided { get; private set; }

    /// <summary>Records the outcome a step decided (the later of two decisions stands).</summary>
    public void Decide(Outcome outcome) => Decided = outcome;
}
