namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Request feature present while an event is forwarded with store-and-forward (live or redelivered):
/// the steps that can fail the forward (the bearer-token transform, the retryable-answer transform)
/// record why here instead of answering, and the delivery step decides: park and 202, or a retry.
/// </summary>
internal sealed class ForwardAttempt(string idempotencyKey)
{
    /// <summary>The event's <c>Idempotency-Key</c>, computed once.</summary>
    public string IdempotencyKey { get; } = idempotencyKey;

    /// <summary>Why the forward did not reach a final answer, or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>OCP®'s <c>Retry-After</c>, when its retryable answer had one.</summary>
    public TimeSpan? RetryAfter { get; private set; }

    /// <summary>
    /// OCP® pushed back (429, or 503 with <c>Retry-After</c>): it asks for less, it did not fail the event. The pace of
    /// redelivery drops, the breaker does not count it, and the event is retried first once the wait is over.
    /// </summary>
    public bool PushedBack { get; private set; }

    public void Fail(string reason, TimeSpan? retryAfter = null, int? status = null)
    {
        if (Failure is null && status is { } answered)
        {
            PushedBack = IsPushBack(answered, retryAfter);
        }

        Failure ??= reason;
        RetryAfter ??= retryAfter;
    }

    /// <summary>429 always, 503 only with <c>Retry-After</c> (without one a 503 is OCP® failing).</summary>
    public static bool IsPushBack(int status, TimeSpan? retryAfter) => status == 429 || (status == 503 && retryAfter is not null);

    /// <summary>408, 425, 429 and 5xx are worth another attempt; every other answer is OCP®'s final word.</summary>
    public static bool IsRetryable(int status) => status is 408 or 425 or 429 or >= 500;
}
