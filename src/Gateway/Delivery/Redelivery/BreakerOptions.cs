namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// <c>Gateway:Delivery:Breaker</c>: when enough recent forwards to a cluster failed, new events are parked at once
/// (202 in milliseconds) instead of each waiting the attempt budget, while the redelivery worker probes OCP®.
/// </summary>
public sealed class BreakerOptions
{
    /// <summary>Whether the breaker is on (store-and-forward only). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of failed forwards within <see cref="SamplingDuration"/> that opens it. Default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Forwards within <see cref="SamplingDuration"/> before the ratio counts (at least 2). Default 10.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The window the ratio is taken over (at least 0.5 s). Default 10 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long it stays open before the worker sends one probe (at least 0.5 s). Default 1 s: a probe a second costs a
    /// failing OCP® nothing, and live events stop being parked within a second of OCP® answering again.
    /// </summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(1);
}
