using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>Checks one token client's settings; every message names the key, never a secret's value.</summary>
internal sealed class TokenClientOptionsValidator : IValidateOptions<TokenClientOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenClientOptions options)
    {
        var key = $"{TokenClientOptions.SectionName}:{name}";
        var failures = new List<string>();

        if (options.TokenEndpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{key}:TokenEndpoint is required and must be an absolute http(s) URL.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add($"{key}:ClientId is required.");
        }

        switch (options.ClientAuthentication)
        {
            case ClientAuthenticationMethods.ClientSecretBasic or ClientAuthenticationMethods.ClientSecretPost:
                if (string.IsNullOrEmpty(options.ClientSecret))
                {
                    failures.Add($"{key}:ClientSecret is required for {options.ClientAuthentication}.");
                }

                break;
            case ClientAuthenticationMethods.PrivateKeyJwt:
                try
                {
                    using var loaded = SigningKeyLoader.Load(options);
                }
                catch (InvalidOperationException ex)
                {
                    failures.Add($"{key}:{ex.Message}");
                }

                break;
            default:
                failures.Add($"{key}:ClientAuthentication must be one of {ClientAuthenticationMethods.ClientSecretBasic}, "
                    + $"{ClientAuthenticationMethods.ClientSecretPost}, {ClientAuthenticationMethods.PrivateKeyJwt}; it is '{options.ClientAuthentication}'.");
                break;
        }

        if (options.RefreshBeforeExpiry < TimeSpan.Zero)
        {
            failures.Add($"{key}:RefreshBeforeExpiry must not be negative.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{key}:RequestTimeout must be positive.");
        }

        if (options.MaxRetryDelay < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{key}:MaxRetryDelay must be at least 1 second.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
