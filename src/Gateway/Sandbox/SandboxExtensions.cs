using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Sandbox;

/// <summary>
/// The embedded sandbox. The stand-in OCP® is a plain endpoint rather than a WireMock.Net server so
/// that the production image carries no test dependency; the tests use WireMock.Net.
/// </summary>
public static class SandboxExtensions
{
    /// <summary>
    /// Binds the sandbox options; enabling them outside Development stops start-up. When enabled,
    /// points the shipped cluster and token client at the stand-ins on the address the gateway
    /// listens on (from <c>--urls</c>, <c>ASPNETCORE_URLS</c> or <c>ASPNETCORE_HTTP_PORTS</c>), so
    /// another port is one argument; the environment and the command line can still override them.
    /// </summary>
    public static IHostApplicationBuilder AddSandbox(this IHostApplicationBuilder builder)
    {
        var isDevelopment = builder.Environment.IsDevelopment();
        var section = builder.Configuration.GetSection(SandboxOptions.SectionName);
        if (isDevelopment && bool.TryParse(section["Enabled"], out var enabled) && enabled)
        {
            var basePath = section["BasePath"] ?? new SandboxOptions().BasePath;
            var self = SelfAddress(builder.Configuration);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ReverseProxy:Clusters:ocp:Destinations:primary:Address"] = self + basePath + "/ocp/events",
                ["Gateway:TokenClients:ocp:TokenEndpoint"] = self + basePath + "/token",
            });
            Configuration.ConfigurationExtensions.MoveLastSourceBelowEnvironment(builder.Configuration);
        }

        builder.Services.AddOptions<SandboxOptions>()
            .BindConfiguration(SandboxOptions.SectionName)
            .Validate(o => !o.Enabled || isDevelopment,
                $"{SandboxOptions.SectionName}:Enabled is only allowed in the Development environment.")
            .Validate(o => o.BasePath.StartsWith('/'), $"{SandboxOptions.SectionName}:BasePath must start with '/'.")
            .ValidateOnStart();
        return builder;
    }

    /// <summary>The first address the server is told to listen on, as a loopback URL the gateway can call.</summary>
    private static string SelfAddress(IConfiguration configuration)
    {
        var urls = configuration["urls"];
        if (string.IsNullOrWhiteSpace(urls))
        {
            var port = configuration["http_ports"]?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return port is null ? "http://127.0.0.1:5000" : "http://127.0.0.1:" + port;
        }

        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        var uri = new UriBuilder(first.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        uri.Host = uri.Host switch
        {
            "0.0.0.0" or "localhost" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            var host => host,
        };
        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Maps the stand-in OCP® at <c>{BasePath}/ocp/…</c> when the sandbox is enabled.</summary>
    public static WebApplication MapSandbox(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<SandboxOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SandboxExtensions));
        SandboxLog.Enabled(logger, options.BasePath);
        app.MapPost(options.BasePath + "/ocp/{**rest}", StandInOcpAsync);
        app.MapPost(options.BasePath + "/token", StandInTokenEndpoint);
        return app;
    }

    /// <summary>A client-credentials token endpoint that issues a fresh random token to a Basic-authenticated client.</summary>
    private static IResult StandInTokenEndpoint(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return Results.Json(new { error = "invalid_client" }, statusCode: StatusCodes.Status401Unauthorized);
        }

        return Results.Json(new
        {
            access_token = "sandbox-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
            token_type = "Bearer",
            expires_in = 3600,
        });
    }

    /// <summary>Accepts any event and says what it received, so the README's curl shows the path end to end.</summary>
    private static async Task<IResult> StandInOcpAsync(HttpRequest request)
    {
        using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        var eventType = document.RootElement.TryGetProperty("event_type", out var value) ? value.GetString() : null;
        return Results.Json(new
        {
            accepted = true,
            receivedBy = "sandbox OCP® stand-in",
            eventType,
            bytes = request.ContentLength,
            // Only the sandbox's own throw-away token, cut short: enough to see that one was attached.
            authorization = request.Headers.Authorization.ToString() is { Length: > 20 } bearer ? bearer[..20] + "…" : "none",
        });
    }
}
