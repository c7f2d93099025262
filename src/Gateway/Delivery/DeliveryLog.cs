namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Log messages of store-and-forward delivery. Never the body or any value from it.</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(6001, LogLevel.Information, "Event parked as {Id} ({Reason}); answered 202 (traceId {TraceId})")]
    public static partial void Parked(ILogger logger, long id, string reason, string traceId);

    [LoggerMessage(6002, LogLevel.Warning, "The delivery store is failing ({Operation}): {Error}. Events OCP® takes are still forwarded; those it does not are answered 503 until the store is back")]
    public static partial void StoreFailed(ILogger logger, string operation, string error);

    [LoggerMessage(6014, LogLevel.Warning, "OCP® cluster {Cluster} fails too many forwards: circuit open, new events are parked at once; the worker probes in {Seconds:0.#} s")]
    public static partial void BreakerOpened(ILogger logger, string cluster, double seconds);

    [LoggerMessage(6015, LogLevel.Warning, "OCP® cluster {Cluster} takes events again: circuit closed, events are forwarded")]
    public static partial void BreakerClosed(ILogger logger, string cluster);

    [LoggerMessage(6016, LogLevel.Warning, "{Count} {EventType} event(s) not delivered within ExpireAfter ({After}) set aside as stale (kept, replayable); their conversations go on")]
    public static partial void SetAsideStale(ILogger logger, int count, string eventType, TimeSpan after);

    [LoggerMessage(6017, LogLevel.Warning, "OCP® cluster {Cluster} pushed back {Count} time(s) in the last {Seconds:0} s (429, or 503 with Retry-After; {Live} live, {Redelivery} redelivery): the drain now allows {Allowed} in flight")]
    public static partial void PushedBack(ILogger logger, string cluster, int count, double seconds, int live, int redelivery, int allowed);

    [LoggerMessage(6012, LogLevel.Warning, "The delivery store answers again after {Seconds:0.#} s of failures")]
    public static partial void StoreBack(ILogger logger, double seconds);

    [LoggerMessage(6013, LogLevel.Debug, "The delivery store failed ({Operation})")]
    public static partial void StoreFailedAgain(ILogger logger, string operation, Exception exception);

    [LoggerMessage(6003, LogLevel.Information, "Event {Id} delivered on attempt {Attempt} ({Outcome})")]
    public static partial void Delivered(ILogger logger, long id, int attempt, string outcome);

    [LoggerMessage(6004, LogLevel.Warning, "Event {Id} not delivered on attempt {Attempt}: {Reason}; next attempt in {DelaySeconds} s")]
    public static partial void Retrying(ILogger logger, long id, int attempt, string reason, double delaySeconds);

    [LoggerMessage(6005, LogLevel.Error, "Event {Id} dead-lettered after MaxAge with {Count} event(s) in all; replay it with 'deliveries replay {Id}'")]
    public static partial void DeadLettered(ILogger logger, long id, int count);

    [LoggerMessage(6006, LogLevel.Information, "Delivery store ready: {Store} ({Mode})")]
    public static partial void StoreReady(ILogger logger, string store, string mode);

    [LoggerMessage(6007, LogLevel.Error, "Stored event {Id} (key {KeyId}) has a body that does not decrypt ({Reason}): changed or moved from another row; dead-lettered, not delivered")]
    public static partial void BodyRejected(ILogger logger, long id, string keyId, string reason);

    [LoggerMessage(6008, LogLevel.Error, "{Count} stored event(s) are encrypted with key '{KeyId}', which this gateway does not have: kept, not delivered. Put Gateway:Delivery:EncryptionKeys:{KeyId} back")]
    public static partial void KeyMissing(ILogger logger, string keyId, long count);

    [LoggerMessage(6009, LogLevel.Information, "Encrypted {Count} stored event body(ies) under key '{KeyId}' ({Fingerprint})")]
    public static partial void Encrypted(ILogger logger, long count, string keyId, string fingerprint);

    [LoggerMessage(6010, LogLevel.Warning, "Removed the bodies of {Count} dead letter(s) older than DeadLetterRetention ({Retention}); their rows stay as tombstones (state expired)")]
    public static partial void DeadLettersExpired(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(6011, LogLevel.Information, "Admin {Action} {Target} by {Admin}: {Outcome}")]
    public static partial void AdminAction(ILogger logger, string action, string target, string admin, string outcome);
}
