namespace OcpTalkdesk.Gateway.Timeouts;

/// <summary>
/// <c>Gateway:ExecutionTimeout</c>: how long the gateway holds a call before answering 504. A YARP
/// route's own <c>Timeout</c> overrides it for that route.
/// </summary>
public sealed class ExecutionTimeoutOptions
{
    /// <summary>Talkdesk's default action execution timeout.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    /// <summary>The longest execution timeout Talkdesk allows an action.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);

    /// <summary>The whole time the gateway may hold a call: body, checks, token and OCP®. Default 10 s, at most 30 s.</summary>
    public TimeSpan ExecutionTimeout { get; set; } = Default;
}
