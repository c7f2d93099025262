using Newtonsoft.Json.Linq;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

public sealed class ViolationMapperTests
{
    [Fact]
    public void Pointers_escape_slash_and_tilde_and_index_arrays()
    {
        var document = JObject.Parse("""{"a/b":{"c~d":[10, {"e.f": true}]}}""");
        var token = document.SelectToken("['a/b']['c~d'][1]['e.f']")!;

        Assert.Equal("/a~1b/c~0d/1/e.f", ViolationMapper.ToPointer(token));
    }

    [Fact]
    public void The_root_has_the_empty_pointer() => Assert.Equal(string.Empty, ViolationMapper.ToPointer(new JObject()));
}
