using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>OAuth 2.0 client-credentials bearer tokens on forwarded calls.</summary>
public static class TokensExtensions
{
    /// <summary>
    /// Registers the token clients of <c>Gateway:TokenClients</c>, their shared cache, the bearer
    /// transform for clusters that name a client, and the 401 resend in the forwarder's HTTP client.
    /// </summary>
    public static IHostApplicationBuilder AddTokenClients(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => TokenClientNames.From(sp.GetRequiredService<IConfiguration>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TokenClientOptions>, BindTokenClientOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenClientOptions>, TokenClientOptionsValidator>());
        services.AddHttpClient(TokenEndpointClient.HttpClientName);
        services.TryAddSingleton<ITokenEndpoint, TokenEndpointClient>();
        services.TryAddSingleton<TokenCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, BearerTokenTransformProvider>());
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, TokenForwarderHttpClientFactory>());
        services.AddHostedService<TokenWarmUp>();
        // Each configured client is checked at start-up (and by check-config), naming the bad key.
        foreach (var name in TokenClientNames.From(builder.Configuration).Names)
        {
            services.AddOptions<TokenClientOptions>(name).ValidateOnStart().KeepLastGoodOnReload();
        }

        return builder;
    }
}
