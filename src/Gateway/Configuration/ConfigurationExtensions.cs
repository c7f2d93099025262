using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Registers the gateway's own configuration section.</summary>
public static class ConfigurationExtensions
{
    /// <summary>The setting naming the folder of file-mounted secrets.</summary>
    public const string SecretsDirectoryKey = "SecretsDirectory";

    /// <summary>Where file-mounted secrets are read from unless <see cref="SecretsDirectoryKey"/> says otherwise.</summary>
    public const string DefaultSecretsDirectory = "/run/secrets";

    /// <summary>Kestrel's switch that refuses a bare LF as an HTTP/1.1 line end (400).</summary>
    public const string BareLineFeedSwitch = "Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators";

    /// <summary>
    /// Adds file-mounted secrets to the configuration and binds the management port (validated at
    /// start-up, so a bad key stops the process with a message naming it).
    /// </summary>
    public static IHostApplicationBuilder AddGatewayOptions(this IHostApplicationBuilder builder)
    {
        // Secrets mounted as files (Docker and Kubernetes secrets): a file named
        // Gateway__TokenClients__ocp__ClientSecret holds that key's value. They rank above the
        // appsettings files and below the environment and the command line, as documented.
        var secrets = builder.Configuration[SecretsDirectoryKey] ?? DefaultSecretsDirectory;
        builder.Configuration.AddKeyPerFile(Path.GetFullPath(secrets), optional: true, reloadOnChange: true);
        builder.Configuration.MoveLastSourceBelowEnvironment();

        builder.Services.AddOptions<ManagementOptions>()
            .BindConfiguration(ManagementOptions.SectionName)
            .Validate(o => o.ManagementPort is >= 0 and <= 65535, "Gateway:ManagementPort must be a TCP port (1-65535), or 0 to serve the operator endpoints on every port.")
            .ValidateOnStart();
        // Request lines and headers must end in CRLF: a bare LF is what a proxy in front may read differently
        // (request smuggling), and Talkdesk sends CRLF. Measured and recorded in docs/decisions/0006-edge-trust.md.
        AppContext.SetSwitch(BareLineFeedSwitch, true);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ManagementPortPolicy>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, KestrelLimitsSetup>());
        builder.ListenOnManagementPort();
        return builder;
    }

    /// <summary>
    /// Keeps the last good options in force when a configuration change makes them invalid (logged naming the key,
    /// counted, and shown by <c>/readyz</c> as Degraded) rather than failing every read until the file is fixed.
    /// </summary>
    public static OptionsBuilder<TOptions> KeepLastGoodOnReload<TOptions>(this OptionsBuilder<TOptions> options)
        where TOptions : class
    {
        options.Services.TryAddSingleton<ConfigurationReloads>();
        // A closed registration wins over the framework's open IOptionsMonitor<>, for this options type only.
        options.Services.TryAddSingleton<IOptionsMonitor<TOptions>, LastGoodOptionsMonitor<TOptions>>();
        return options;
    }

    /// <summary>
    /// Inserts the source just added below the unprefixed environment variables and the command
    /// line, so those still win over it.
    /// </summary>
    internal static void MoveLastSourceBelowEnvironment(this IConfigurationBuilder configuration)
    {
        // The host adds the command line twice (early for host settings, last for the app) and
        // prefixed environment sources early; the app's own environment source is the last unprefixed one.
        var sources = configuration.Sources;
        var added = sources[^1];
        for (var i = sources.Count - 2; i >= 0; i--)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix: null or "" })
            {
                sources.RemoveAt(sources.Count - 1);
                sources.Insert(i, added);
                return;
            }
        }
    }

    /// <summary>
    /// Makes the server listen on the management port too (unless 0, or already listed), beside the
    /// addresses from <c>--urls</c>, <c>ASPNETCORE_URLS</c> or <c>ASPNETCORE_HTTP_PORTS</c>, so
    /// <c>/metrics</c> and the health endpoints are never served on the events port by default.
    /// </summary>
    private static void ListenOnManagementPort(this IHostApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetSection(ManagementOptions.SectionName)["ManagementPort"];
        var port = int.TryParse(configured, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : ManagementOptions.DefaultPort;
        if (port is <= 0 or > 65535 || builder is not WebApplicationBuilder web)
        {
            return;
        }

        // Endpoints in Kestrel's own section (HTTPS with a PEM certificate, say) replace --urls and the
        // ports settings altogether, so the management port joins them there.
        var endpoints = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().ToList();
        if (endpoints.Count > 0)
        {
            var portText = ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!endpoints.Any(e => e["Url"] is { } url && (url.EndsWith(portText, StringComparison.Ordinal) || url.Contains(portText + "/", StringComparison.Ordinal))))
            {
                var first = endpoints.Select(e => e["Url"]).FirstOrDefault(u => !string.IsNullOrWhiteSpace(u)) ?? "http://0.0.0.0";
                var host = new UriBuilder(first.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal)).Host;
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Kestrel:Endpoints:Management:Url"] = $"http://{(host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host)}{portText}",
                });
            }

            return;
        }

        var urls = builder.Configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            if (!urls.Contains(":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
                var host = new UriBuilder(first.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal)).Host;
                web.WebHost.UseUrls(urls + $";http://{(host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host)}:{port}");
            }

            return;
        }

        var ports = builder.Configuration["http_ports"];
        if (!string.IsNullOrWhiteSpace(ports))
        {
            if (Array.IndexOf(ports.Split(';', StringSplitOptions.TrimEntries), port.ToString(System.Globalization.CultureInfo.InvariantCulture)) < 0)
            {
                web.WebHost.UseSetting("http_ports", ports + ";" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            return;
        }

        // Neither set: ASP.NET Core's default address, plus the management port, on loopback.
        web.WebHost.UseUrls($"http://localhost:5000;http://localhost:{port}");
    }
}
