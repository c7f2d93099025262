namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>The accepted values of <see cref="TokenClientOptions.ClientAuthentication"/> (RFC 6749, RFC 7523).</summary>
public static class ClientAuthenticationMethods
{
    /// <summary>Client id and secret in an HTTP Basic header.</summary>
    public const string ClientSecretBasic = "client_secret_basic";

    /// <summary>Client id and secret as form fields.</summary>
    public const string ClientSecretPost = "client_secret_post";

    /// <summary>A JWT client assertion signed with the client's private key.</summary>
    public const string PrivateKeyJwt = "private_key_jwt";
}
