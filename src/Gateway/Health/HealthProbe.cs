namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// <c>dotnet OcpTalkdesk.Gateway.dll healthcheck [url]</c>: exits 0 when the URL (default the local
/// <c>/healthz</c> on the management port) answers 2xx. The runtime image has no curl or wget, so the image's HEALTHCHECK
/// uses the gateway itself.
/// </summary>
public static class HealthProbe
{
    private const string Command = "healthcheck";

    /// <summary>True when the process was started as a health probe.</summary>
    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Command;

    /// <summary>Probes once and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.Length > 1 ? args[1] : "http://127.0.0.1:9090/healthz";
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            return 1;
        }
    }
}
