namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>What one token request returned: a token and its lifetime, or an error code.</summary>
internal readonly record struct TokenEndpointResult(string? AccessToken, int ExpiresIn, string? Error)
{
    public static TokenEndpointResult Success(string accessToken, int expiresIn) => new(accessToken, expiresIn, null);

    public static TokenEndpointResult Failure(string error) => new(null, 0, error);

    public bool IsSuccess => AccessToken is not null;
}
