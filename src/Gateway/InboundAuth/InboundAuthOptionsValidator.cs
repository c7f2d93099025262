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

                if (options.ApiKeys.Count == 0 || options.ApiKeys.Exists(k => k.Length < 16))
                {
                    failures.Add($"{key}:ApiKeys must list at least one key, each at least 16 characters "
                        + $"(set {key.Replace(":", "__", StringComparison.Ordinal)}__ApiKeys__0 in the environment or a mounted secret).");
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
}
