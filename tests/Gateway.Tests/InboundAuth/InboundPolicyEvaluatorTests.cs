using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.InboundAuth;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

/// <summary>The API-key shortcut takes only an accepted key on a plain API-key policy; everything else is the framework's.</summary>
public sealed class InboundPolicyEvaluatorTests : IDisposable
{
    private const string Scheme = "inbound-talkdesk";
    private const string Key = "the-accepted-key-00001";
    private readonly ServiceProvider _services;
    private readonly InboundPolicyEvaluator _evaluator;
    private readonly AuthorizationPolicy _apiKeyOnly = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build();

    public InboundPolicyEvaluatorTests()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthorization();
        services.AddAuthentication().AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(Scheme, o => o.ApiKeys.Add(Key));
        services.AddSingleton<IPostConfigureOptions<ApiKeyAuthenticationOptions>, ApiKeyOptionsPostConfigure>();
        _services = services.BuildServiceProvider();
        _evaluator = new InboundPolicyEvaluator(_services.GetRequiredService<IAuthorizationService>(),
            _services.GetRequiredService<IOptionsMonitor<ApiKeyAuthenticationOptions>>(), new ApiKeySchemes([Scheme]));
    }

    public void Dispose() => _services.Dispose();

    private DefaultHttpContext Context(string? key)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        if (key is not null)
        {
            context.Request.Headers["X-API-Key"] = key;
        }

        return context;
    }

    [Fact]
    public async Task An_accepted_key_is_authenticated_and_authorized_with_one_shared_principal()
    {
        var first = Context(Key);
        var second = Context(Key);

        var authenticated = await _evaluator.AuthenticateAsync(_apiKeyOnly, first);
        var again = await _evaluator.AuthenticateAsync(_apiKeyOnly, second);
        var authorized = await _evaluator.AuthorizeAsync(_apiKeyOnly, authenticated, first, null);

        Assert.True(authenticated.Succeeded);
        Assert.Same(authenticated, again);
        Assert.Equal(Scheme, first.User.Identity?.Name);
        Assert.True(first.User.Identity?.IsAuthenticated);
        Assert.True(authorized.Succeeded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-key-000000001")]
    [InlineData("")]
    public async Task A_missing_empty_or_wrong_key_goes_to_the_framework_and_is_refused(string? key)
    {
        var context = Context(key);

        var authenticated = await _evaluator.AuthenticateAsync(_apiKeyOnly, context);
        var authorized = await _evaluator.AuthorizeAsync(_apiKeyOnly, authenticated, context, null);

        Assert.False(authenticated.Succeeded);
        Assert.NotEqual(true, context.User.Identity?.IsAuthenticated);
        Assert.True(authorized.Challenged);
    }

    [Fact]
    public async Task A_policy_with_another_requirement_is_left_to_the_framework()
    {
        var withAssertion = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().RequireAssertion(_ => false).Build();
        var context = Context(Key);

        var authenticated = await _evaluator.AuthenticateAsync(withAssertion, context);
        var authorized = await _evaluator.AuthorizeAsync(withAssertion, authenticated, context, null);

        Assert.True(authenticated.Succeeded);
        Assert.False(authorized.Succeeded);
    }
}
