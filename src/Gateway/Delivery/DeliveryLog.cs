namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Log messages of store-and-forward delivery. Never the body or any value from it.</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(6001, LogLevel.Information, "Event parked as {Id} ({Reason}); answered 202 (traceId {TraceId})")]
    public static partial void Parked(ILogger logger, long id, string reason, string traceId);

    [LoggerMessage(6002, LogLevel.Error, "The delivery store failed ({Operation}): {Error}")]
    public static partial void StoreFailed(ILogger logger, string operation, string error);

    [LoggerMessage(6003, LogLevel.Information, "Event {Id} delivered on attempt {Attempt} ({Outcome})")]
    public static partial void Delivered(ILogger logger, long id, int attempt, string outcome);

    [LoggerMessage(6004, LogLevel.Warning, "Event {Id} not delivered on attempt {Attempt}: {Reason}; next attempt in {DelaySeconds} s")]
    public static partial void Retrying(ILogger logger, long id, int attempt, string reason, double delaySeconds);

    [LoggerMessage(6005, LogLevel.Error, "Event {Id} dead-lettered after MaxAge with {Count} event(s) in all; replay it with 'deliveries replay {Id}'")]
    public static partial void DeadLettered(ILogger logger, long id, int count);

    [LoggerMessage(6006, LogLevel.Information, "Delivery store ready: {Store} ({Mode})")]
    public static partial void StoreReady(ILogger logger, string store, string mode);
}
