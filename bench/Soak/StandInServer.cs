namespace OcpTalkdesk.Bench.Soak;

/// <summary>The stand-in servers' shared host: a token endpoint (<c>/token</c>) and OCP® (<c>/ocp</c>) on a free loopback port.</summary>
internal static class StandInServer
{
    /// <summary>Starts the host; tokens live <paramref name="tokenSeconds"/> so renewals happen during a soak.</summary>
    public static async Task<WebApplication> StartAsync(int tokenSeconds, Func<HttpContext, Task<IResult>> receive)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/token", () => Results.Json(new { access_token = "soak-" + Guid.NewGuid().ToString("N"), token_type = "Bearer", expires_in = tokenSeconds }));
        app.MapPost("/ocp", receive);
        await app.StartAsync();
        return app;
    }
}
