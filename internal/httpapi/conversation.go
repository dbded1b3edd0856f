package httpapi

// conversationRoutes registers the conversation endpoints.
func (s *Server) conversationRoutes() {}
