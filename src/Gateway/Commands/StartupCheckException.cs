namespace OcpTalkdesk.Gateway.Commands;

/// <summary>The configuration check found problems before the gateway listened; the message lists them, one a line.</summary>
public sealed class StartupCheckException(IReadOnlyList<string> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
