namespace OcpTalkdesk.Gateway.Configuration;

internal static partial class ConfigurationLog
{
    [LoggerMessage(1101, LogLevel.Warning, "Configuration change rejected, keeping the last good settings: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason);
}
