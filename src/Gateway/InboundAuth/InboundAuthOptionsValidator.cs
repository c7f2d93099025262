using System.Net;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Checks one inbound method's settings; messages name the key, never a secret.</summary>
internal sealed class InboundAuthOptionsValidator : IValidateOptions<InboundAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, InboundAuthOptions options)
    {
        var key = $"{InboundAuthOptions.SectionName}:{name}";
        var failures = new List<string>();
        switch (options.Type)
        {
            case InboundAuthTypes.ApiKey:
                if (string.IsNullOrWhiteSpace(options.HeaderName))
                {
                    failures.Add($"{key}:HeaderName must not be empty.");
                }

                if (ApiKeysFailure(key, options.ApiKeys) is { } apiKeys)
                {
                    failures.Add(apiKeys);
                }

                break;
            case InboundAuthTypes.Basic:
                if (options.Users.Count == 0 || options.Users.Values.Any(string.IsNullOrEmpty))
                {
                    failures.Add($"{key}:Users must map at least one user name to a password or sha256:<hex>.");
                }

                break;
            case InboundAuthTypes.Bearer:
                if (string.IsNullOrWhiteSpace(options.Authority) && string.IsNullOrWhiteSpace(options.MetadataAddress) && string.IsNullOrWhiteSpace(options.JwksUri))
                {
                    failures.Add($"{key}: Bearer needs Authority, MetadataAddress or JwksUri.");
                }

                if (string.IsNullOrWhiteSpace(options.Audience))
                {
                    failures.Add($"{key}:Audience is required for Bearer.");
                }

                break;
            case InboundAuthTypes.None:
                break;
            default:
                failures.Add($"{key}:Type must be ApiKey, Basic, Bearer or None; it is '{options.Type}'.");
                break;
        }

        foreach (var network in options.AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                failures.Add($"{key}:AllowedNetworks: '{network}' is not a CIDR range.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>What is wrong with a method's API keys (<paramref name="key"/> names the method's section), or null.</summary>
    internal static string? ApiKeysFailure(string key, List<string> apiKeys) =>
        apiKeys.Count == 0 || apiKeys.Exists(k => k.Length < 16)
            ? $"{key}:ApiKeys must list at least one key, each at least 16 characters "
                + $"(set {key.Replace(":", "__", StringComparison.Ordinal)}__ApiKeys__0 in the environment or a mounted secret)."
            : null;
}

/// <summary>
/// The same rule for the keys the API-key handler compares against, so a change refused for the method is refused
/// for its keys too (both keep their last good values) rather than half applied.
/// </summary>
internal sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyAuthenticationOptions options) =>
        InboundAuthOptionsValidator.ApiKeysFailure($"{InboundAuthOptions.SectionName}:{InboundAuthTypes.MethodOf(name ?? string.Empty)}", options.ApiKeys) is { } failure
            ? ValidateOptionsResult.Fail(failure)
            : ValidateOptionsResult.Success;
}
