namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// No valid token can be had for a token client: the endpoint failed or is unreachable and nothing
/// valid is cached. The message names the client and the OAuth error code, never a secret.
/// </summary>
public sealed class TokenUnavailableException : Exception
{
    /// <summary>Creates the exception for <paramref name="tokenClient"/> with the OAuth <paramref name="error"/> code.</summary>
    public TokenUnavailableException(string tokenClient, string error)
        : base($"Token client '{tokenClient}' has no valid token: {error}")
    {
        TokenClient = tokenClient;
        Error = error;
    }

    /// <summary>The configured name of the token client.</summary>
    public string TokenClient { get; }

    /// <summary>The OAuth error code (RFC 6749 §5.2) or a transport error such as <c>http_503</c> or <c>unreachable</c>.</summary>
    public string Error { get; }
}
