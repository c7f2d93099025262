using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.InboundAuth;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

/// <summary>The API-key shortcut takes only an accepted key on a plain API-key endpoint; everything else is the framework's.</summary>
public sealed class ApiKeyShortcutTests : IDisposable
{
    private const string Scheme = "inbound-talkdesk";
    private const string Key = "the-accepted-key-00001";
    private readonly ServiceProvider _services;
    private readonly ApiKeyShortcut _shortcut;

    public ApiKeyShortcutTests()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthorizationBuilder()
            .AddPolicy("talkdesk", p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser())
            .AddPolicy("scoped", p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireAssertion(_ => false))
            .AddPolicy("basic", p => p.AddAuthenticationSchemes("inbound-basic").RequireAuthenticatedUser());
        services.AddAuthentication().AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(Scheme, o => o.ApiKeys.Add(Key));
        services.AddSingleton<IPostConfigureOptions<ApiKeyAuthenticationOptions>, ApiKeyOptionsPostConfigure>();
        _services = services.BuildServiceProvider();
        _shortcut = new ApiKeyShortcut(_services.GetRequiredService<IOptions<AuthorizationOptions>>(),
            _services.GetRequiredService<IOptionsMonitor<ApiKeyAuthenticationOptions>>(), new ApiKeySchemes([Scheme]));
    }

    public void Dispose() => _services.Dispose();

    private static DefaultHttpContext Context(string? key, params object[] metadata)
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(new Endpoint(null, new EndpointMetadataCollection(metadata), "route"));
        if (key is not null)
        {
            context.Request.Headers["X-API-Key"] = key;
        }

        return context;
    }

    [Fact]
    public void An_accepted_key_on_a_plain_api_key_route_is_let_through_with_one_shared_principal()
    {
        var first = Context(Key, new AuthorizeAttribute("talkdesk"));
        var second = Context(Key, new AuthorizeAttribute("talkdesk"));

        Assert.True(_shortcut.TryAccept(first));
        Assert.True(_shortcut.TryAccept(second));
        Assert.Equal(Scheme, first.User.Identity?.Name);
        Assert.True(first.User.Identity?.IsAuthenticated);
        Assert.Same(first.User, second.User);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-key-000000001")]
    [InlineData("")]
    public void A_missing_empty_or_wrong_key_goes_to_the_framework(string? key)
    {
        var context = Context(key, new AuthorizeAttribute("talkdesk"));

        Assert.False(_shortcut.TryAccept(context));
        Assert.NotEqual(true, context.User.Identity?.IsAuthenticated);
    }

    [Fact]
    public void Two_keys_in_the_header_go_to_the_framework()
    {
        var context = Context(null, new AuthorizeAttribute("talkdesk"));
        context.Request.Headers["X-API-Key"] = new Microsoft.Extensions.Primitives.StringValues([Key, Key]);

        Assert.False(_shortcut.TryAccept(context));
    }

    [Fact]
    public void Any_other_authorization_is_left_to_the_framework_even_with_an_accepted_key()
    {
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("scoped"))));
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("basic"))));
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("no-such-policy"))));
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("talkdesk"), new AuthorizeAttribute("scoped"))));
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("talkdesk") { Roles = "admin" })));
        Assert.False(_shortcut.TryAccept(Context(Key, new AuthorizeAttribute("talkdesk"), new AllowAnonymousAttribute())));
        Assert.False(_shortcut.TryAccept(Context(Key)));
        Assert.False(_shortcut.TryAccept(new DefaultHttpContext()));
    }
}
