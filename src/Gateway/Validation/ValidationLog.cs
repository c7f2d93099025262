namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Log messages of the validation step. Never the body or any value from it.</summary>
internal static partial class ValidationLog
{
    [LoggerMessage(1001, LogLevel.Information, "Loaded schemas for {Count} event types")]
    public static partial void SchemasLoaded(ILogger logger, int count);

    [LoggerMessage(1002, LogLevel.Warning, "Configuration reload rejected, keeping the last good schemas: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason);

    [LoggerMessage(1003, LogLevel.Information, "Event rejected on route {RouteId}: {Status} {Reason} (event_type {EventType}, traceId {TraceId})")]
    public static partial void EventRejected(ILogger logger, string routeId, int status, string reason, string eventType, string traceId);

    [LoggerMessage(1005, LogLevel.Error, "The schema of event type {EventType} ({SchemaFile}) could not be evaluated; the event was refused: {Reason}")]
    public static partial void SchemaUnusable(ILogger logger, string eventType, string schemaFile, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Schema file change rejected, keeping the last good schemas: {Reason}")]
    public static partial void SchemaFileRejected(ILogger logger, string reason);
}
