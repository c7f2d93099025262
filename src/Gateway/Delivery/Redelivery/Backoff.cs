namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>The wait before an attempt: the schedule's step (the last repeats) with ±20 % jitter, or OCP®'s Retry-After if longer.</summary>
internal static class Backoff
{
    public static TimeSpan Next(IReadOnlyList<TimeSpan> schedule, int failedAttempts, TimeSpan? retryAfter)
    {
        var step = schedule[Math.Clamp(failedAttempts - 1, 0, schedule.Count - 1)];
        // Jitter spreads the retries of many parked events (and replicas) so OCP® is not hit in waves.
        var jittered = step * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return retryAfter is { } wait && wait > jittered ? wait : jittered;
    }
}
