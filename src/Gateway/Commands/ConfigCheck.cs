using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.InboundAuth;
using OcpTalkdesk.Gateway.Tokens;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy.Configuration;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// Checks a built (not started) gateway: every validated option (which loads and meta-validates
/// every schema), then every YARP route and cluster through YARP's own validator (which runs the
/// gateway's route and cluster checks: destinations, auth policies, token clients). Calls nothing
/// over the network. Serving runs the same check before it listens, so both refuse the same things.
/// </summary>
internal static class ConfigCheck
{
    /// <summary>Every problem, as one line each; empty when the configuration is good.</summary>
    public static async Task<IReadOnlyList<string>> FindProblemsAsync(IServiceProvider services)
    {
        var problems = new List<string>();
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or AggregateException)
        {
            foreach (var failure in StartupFailure.Messages(ex))
            {
                problems.Add(failure);
            }
        }

        try
        {
            var validator = services.GetRequiredService<IConfigValidator>();
            foreach (var provider in services.GetServices<IProxyConfigProvider>())
            {
                var config = provider.GetConfig();
                foreach (var route in config.Routes)
                {
                    foreach (var error in await validator.ValidateRouteAsync(route))
                    {
                        problems.Add(error.Message);
                    }
                }

                foreach (var cluster in config.Clusters)
                {
                    foreach (var error in await validator.ValidateClusterAsync(cluster))
                    {
                        // YARP's own words for an empty address; DestinationAddressCheck names the key.
                        if (!error.Message.StartsWith("No address found for destination", StringComparison.Ordinal))
                        {
                            problems.Add(error.Message);
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OptionsValidationException)
        {
            problems.AddRange(StartupFailure.Messages(ex));
        }

        return problems.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The <c>check-config</c> command: problems on standard error and exit 1, or a summary and exit 0.</summary>
    public static async Task<int> RunAsync(IServiceProvider services, IReadOnlyList<string> bindingProblems, TextWriter output, TextWriter error)
    {
        var problems = bindingProblems.Concat(await FindProblemsAsync(services)).ToList();
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync(ConfigProblem.Format(problem));
            }

            await error.WriteLineAsync($"check-config: {problems.Count} problem(s); the gateway would not start.");
            return 1;
        }

        await output.WriteLineAsync(Summary(services));
        return 0;
    }

    /// <summary>The mode and store; never the connection string (it may hold a password).</summary>
    private static string DeliverySummary(IServiceProvider services)
    {
        var delivery = services.GetRequiredService<IOptions<Delivery.DeliveryOptions>>().Value;
        return delivery.Mode == Delivery.DeliveryMode.Direct
            ? "Direct (nothing kept when OCP® cannot take an event)"
            : $"StoreAndForward on {delivery.Store} (ConnectionStrings:Delivery {(string.IsNullOrWhiteSpace(services.GetRequiredService<IConfiguration>().GetConnectionString(Delivery.DeliveryOptions.ConnectionStringName)) ? "not set: the default file" : "set")})";
    }

    private static string ManagementSummary(IServiceProvider services)
    {
        var port = services.GetRequiredService<IOptions<Configuration.ManagementOptions>>().Value.ManagementPort;
        return port > 0
            ? $"port {port} only (health, metrics, admin API); event routes not served there"
            : "every port (Gateway:ManagementPort=0: health, metrics and the admin API are reachable wherever events are)";
    }

    private static string Summary(IServiceProvider services)
    {
        var gateway = services.GetRequiredService<IOptions<ValidationOptions>>().Value;
        var config = services.GetServices<IProxyConfigProvider>().Select(p => p.GetConfig()).ToList();
        var routes = config.SelectMany(c => c.Routes)
            .Select(r => $"{r.RouteId} ({r.Match.Path} -> {r.ClusterId}, auth {r.AuthorizationPolicy ?? "none"})");
        var destinations = config.SelectMany(c => c.Clusters)
            .SelectMany(c => (c.Destinations ?? new Dictionary<string, DestinationConfig>()).Select(d => $"{c.ClusterId}/{d.Key} {d.Value.Address}"));
        var tokenClients = services.GetRequiredService<TokenClientNames>().Names;
        var inbound = services.GetRequiredService<InboundAuthMethods>().Names
            .Select(n => $"{n} ({services.GetRequiredService<IOptionsMonitor<InboundAuthOptions>>().Get(n).Type})");
        return string.Join(Environment.NewLine,
            "check-config: the configuration is valid.",
            "  event types:   " + string.Join(", ", gateway.EventTypes.Keys.Order(StringComparer.Ordinal)),
            "  routes:        " + string.Join(", ", routes),
            "  destinations:  " + string.Join(", ", destinations),
            "  token clients: " + (tokenClients.Count == 0 ? "none" : string.Join(", ", tokenClients)),
            "  inbound auth:  " + string.Join(", ", inbound),
            "  trusted proxies: " + services.GetRequiredService<TrustedProxies>().Describe(),
            "  management:    " + ManagementSummary(services),
            "  delivery:      " + DeliverySummary(services),
            "  encryption:    " + EncryptionSummary(services));
    }

    /// <summary>The key ids and their fingerprints (so replicas can be compared); never a key.</summary>
    private static string EncryptionSummary(IServiceProvider services)
    {
        var protector = Delivery.BodyProtector.From(services.GetRequiredService<IOptions<Delivery.DeliveryOptions>>().Value);
        if (protector.ActiveKeyId is not { } active)
        {
            return "no active key (bodies kept as plaintext; only allowed in Direct mode or Development)";
        }

        var others = protector.KeyIds.Where(k => k != active).Order(StringComparer.Ordinal).Select(k => $"{k} ({protector.Fingerprint(k)})");
        return $"active {active} ({protector.Fingerprint(active)})" + (others.Any() ? "; also decrypts " + string.Join(", ", others) : string.Empty);
    }
}
