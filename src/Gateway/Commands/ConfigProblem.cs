using System.Text.RegularExpressions;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>Formats a problem as one line naming the key and its environment-variable spelling.</summary>
internal static partial class ConfigProblem
{
    [GeneratedRegex(@"^(?<key>(Gateway|ReverseProxy|Kestrel|Sandbox|ConnectionStrings|Logging)(:[^\s:'""]+)+)")]
    private static partial Regex LeadingKey();

    /// <summary>
    /// <c>error: Gateway:X:Y is required. (environment: Gateway__X__Y)</c> — the key is read from the
    /// start of the message, where every validator of the gateway puts it.
    /// </summary>
    public static string Format(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        var match = LeadingKey().Match(line);
        if (!match.Success)
        {
            return "error: " + line;
        }

        var key = match.Groups["key"].Value.TrimEnd('.', ',', ';');
        return $"error: {line} (environment variable: {key.Replace(":", "__", StringComparison.Ordinal)})";
    }
}
