using OcpTalkdesk.Gateway.Outcomes;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>
/// Label values prepared once, so recording a request builds no string. Labels are bounded: routes
/// and event types come from configuration (anything else is <c>unknown</c>), status codes from HTTP.
/// </summary>
internal static class MetricLabels
{
    public const string UnknownEventType = "unknown";

    private static readonly string[] Outcomes =
        ["forwarded", "rejected_schema", "rejected_malformed", "unauthorized", "timeout", "upstream_error", "token_unavailable",
            "queued", "duplicate", "store_unavailable", "store_busy", "gateway_error"];

    private static readonly string[] StatusCodes = CreateStatusCodes();

    public static string Of(Outcome outcome) => Outcomes[(int)outcome];

    public static string StatusCode(int status) => (uint)status < (uint)StatusCodes.Length ? StatusCodes[status] : "other";

    private static string[] CreateStatusCodes()
    {
        var codes = new string[600];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return codes;
    }
}
