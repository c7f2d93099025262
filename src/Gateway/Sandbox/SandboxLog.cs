namespace OcpTalkdesk.Gateway.Sandbox;

/// <summary>Log messages of the sandbox.</summary>
internal static partial class SandboxLog
{
    [LoggerMessage(9001, LogLevel.Warning, "Sandbox mode: a stand-in OCP® answers at {BasePath}/ocp/. Never enable this in production.")]
    public static partial void Enabled(ILogger logger, string basePath);
}
